//! Bad and compressed input, and the command line.

mod support;

use std::io::Write;
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;
use spanflow_report::read::read_all;
use support::*;

fn good(trace: u128) -> String {
    line("s", &[Gen::root(trace, "GET /", T0, 5 * MS)])
}

#[test]
fn malformed_lines_are_reported_with_their_number_and_skipped() {
    let path = file(&[
        good(1),
        "{garbage".to_owned(),
        String::new(),
        good(2)[..40].to_owned(),
        "\u{0}\u{1}binary".to_owned(),
        good(3),
    ]);
    let (spans, report) = read_all(std::slice::from_ref(&path)).unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(report.spans, 2);
    assert_eq!(report.skipped, 3);
    let lines: Vec<u64> = report.issues.iter().map(|issue| issue.line).collect();
    assert_eq!(lines, [2, 4, 5], "the empty line 3 is no issue");
    assert!(
        report.issues[0]
            .to_string()
            .starts_with(&format!("{}:2: ", path.display()))
    );
}

fn gzip(lines: &[String]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    for line in lines {
        writeln!(encoder, "{line}").unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn gzip_files_are_read_and_a_truncated_one_keeps_what_came_before() {
    let lines: Vec<String> = (1..=200).map(good).collect();
    let whole = gzip(&lines);
    let path = temp_path("spans.jsonl.gz");
    std::fs::write(&path, &whole).unwrap();
    let (spans, report) = read_all(std::slice::from_ref(&path)).unwrap();
    assert_eq!((spans.len(), report.skipped), (200, 0));

    let cut = temp_path("cut.jsonl.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let (spans, report) = read_all(std::slice::from_ref(&cut)).unwrap();
    assert!(spans.len() < 200, "{}", spans.len());
    assert_eq!(report.skipped, 1, "the truncation is reported once");
    assert!(
        report.issues[0].message.contains("unreadable"),
        "{}",
        report.issues[0]
    );
    assert_eq!(report.issues[0].line, spans.len() as u64 + 1);
}

#[test]
fn the_command_prints_json_and_reports_skipped_lines() {
    let path = file(&[good(1), "nonsense".to_owned(), good(2)]);
    let output = Command::new(env!("CARGO_BIN_EXE_spanflow"))
        .args(["latency", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["spans_read"], 2);
    assert_eq!(json["lines_skipped"], 1);
    assert_eq!(json["groups"][0]["group"], "s");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(":2: not an OTLP-JSON line"), "{stderr}");

    let svg = temp_path("histogram.svg");
    let status = Command::new(env!("CARGO_BIN_EXE_spanflow"))
        .args(["histogram", "GET /", "--buckets", "1ms,10ms", "--svg"])
        .arg(&svg)
        .arg(&path)
        .output()
        .unwrap();
    assert!(status.status.success());
    let drawing = std::fs::read_to_string(&svg).unwrap();
    assert!(drawing.starts_with("<svg") && drawing.contains("<rect"));

    let missing = Command::new(env!("CARGO_BIN_EXE_spanflow"))
        .args(["latency", "/nonexistent/spans.jsonl"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/spans.jsonl"));
}
