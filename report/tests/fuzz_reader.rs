//! Property tests of the OTLP-JSON reader: arbitrary and damaged lines
//! never panic; every good line is read and every bad one counted.

mod support;

use std::io::Write;

use proptest::prelude::*;
use spanflow_report::read::read_all;
use support::*;

/// A good line, damaged: cut, with bytes replaced, or replaced entirely.
fn damaged(good: String) -> impl Strategy<Value = Vec<u8>> {
    let length = good.len();
    prop_oneof![
        (0..length).prop_map({
            let good = good.clone();
            move |cut| good.as_bytes()[..cut].to_vec()
        }),
        (proptest::collection::vec((0..length, any::<u8>()), 1..8)).prop_map({
            let good = good.clone();
            move |edits| {
                let mut bytes = good.clone().into_bytes();
                for (at, byte) in edits {
                    bytes[at] = if byte == b'\n' { b' ' } else { byte };
                }
                bytes
            }
        }),
        proptest::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn damaged_lines_are_skipped_and_counted_never_a_panic(
        lines in proptest::collection::vec(
            prop_oneof![
                Just(None),
                damaged(line("s", &[Gen::root(7, "GET /", T0, MS)])).prop_map(Some),
            ],
            1..20,
        ),
    ) {
        let good = line("s", &[Gen::root(1, "GET /", T0, MS)]);
        let path = temp_path("fuzz.jsonl");
        let mut out = std::fs::File::create(&path).unwrap();
        for line in &lines {
            match line {
                None => out.write_all(good.as_bytes()).unwrap(),
                Some(bytes) => out.write_all(bytes).unwrap(),
            }
            out.write_all(b"\n").unwrap();
        }
        drop(out);
        let (spans, report) = read_all(std::slice::from_ref(&path)).unwrap();
        let goods = lines.iter().filter(|line| line.is_none()).count() as u64;
        // Each non-empty line is skipped (counted) or read (one span at
        // most: a damaged line may still parse, perhaps with no span).
        let non_empty = lines
            .iter()
            .filter(|line| line.as_ref().is_none_or(|bytes| !bytes.trim_ascii().is_empty()))
            .count() as u64;
        prop_assert!(spans.len() as u64 >= goods, "every good line is read");
        prop_assert!(report.skipped <= non_empty - goods, "no good line is skipped");
        prop_assert!(spans.len() as u64 <= non_empty - report.skipped);
        for issue in &report.issues {
            prop_assert!(issue.line >= 1 && issue.line as usize <= lines.len());
        }
        let _ = std::fs::remove_file(&path);
    }
}
