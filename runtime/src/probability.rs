//! OpenTelemetry consistent probability sampling: the 56-bit rejection
//! threshold (`th`) and randomness (`rv`) of the `ot` tracestate member.
//!
//! Written here because opentelemetry-rust's `TraceIdRatioBased` predates
//! the specification (it compares the trace id's low 63 bits against
//! `p × 2^63`, which no other SDK does): a trace sampled at 1% by a Java
//! service and at 1% by a spanflow service must get the same decision, and
//! the threshold must travel so that collectors can count what a kept span
//! stands for. The specification: "TraceState: Probability Sampling".

use opentelemetry::trace::{TraceId, TraceState};

/// 2^56: thresholds and randomness values are 56-bit.
pub(crate) const MAX_THRESHOLD: u64 = 1 << 56;

/// The default precision, in hex digits, that the specification recommends.
const PRECISION: i32 = 4;

/// The rejection threshold for `probability` (the share of traces kept),
/// by the specification's algorithm with 4 significant hex digits: `0`
/// keeps everything. `probability` must be in `[2^-56, 1]`; smaller values
/// are raised to 2^-56 (zero probability is not probability sampling: use
/// `AlwaysOff`).
pub(crate) fn threshold(probability: f64) -> u64 {
    if probability.is_nan() || probability >= 1.0 {
        return 0;
    }
    let probability = probability.max(1.0 / MAX_THRESHOLD as f64);
    // More digits for small probabilities: the configured precision applies
    // to the significant digits after the leading `f`s.
    // (`frexp`'s exponent is at most 0 below 1: `-e / 4` is the floor of
    // the specification's `e // -4`.)
    let precision = (PRECISION - frexp_exponent(probability) / 4).clamp(1, 12);
    // 1 + rejection probability, in [1, 2): its 52 mantissa bits are the
    // threshold's first 13 hex digits. Half a unit of the last kept digit
    // is added so that truncating rounds.
    let rejection = 2.0 - probability + f64::powi(2.0, -4 * precision - 1);
    let kept_bits = 4 * precision as u32;
    let digits = if rejection >= 2.0 {
        (1 << kept_bits) - 1
    } else {
        let mantissa = rejection.to_bits() & ((1 << 52) - 1);
        mantissa >> (52 - kept_bits)
    };
    digits << (56 - kept_bits)
}

/// `e` of `x = m × 2^e` with `m` in `[0.5, 1)`, for positive normal `x`.
fn frexp_exponent(x: f64) -> i32 {
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022
}

/// The `th` value for `threshold`: hex without trailing zeros, `0` for 0.
pub(crate) fn encode_threshold(threshold: u64) -> String {
    if threshold == 0 {
        return "0".to_owned();
    }
    let digits = format!("{threshold:014x}");
    digits.trim_end_matches('0').to_owned()
}

/// A `th` value: 1 to 14 hex digits, padded with trailing zeros.
pub(crate) fn decode_threshold(th: &str) -> Option<u64> {
    if th.is_empty() || th.len() > 14 || !th.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = u64::from_str_radix(th, 16).ok()?;
    Some(value << (4 * (14 - th.len())))
}

/// The trace's randomness: `rv` from the `ot` tracestate member when it is
/// there (exactly 14 hex digits), otherwise the trace id's low 56 bits.
pub(crate) fn randomness(trace_id: TraceId, trace_state: &TraceState) -> u64 {
    ot_field(trace_state, "rv")
        .filter(|rv| rv.len() == 14)
        .and_then(|rv| u64::from_str_radix(rv, 16).ok())
        .unwrap_or_else(|| u128::from_be_bytes(trace_id.to_bytes()) as u64 & (MAX_THRESHOLD - 1))
}

/// The `th` a trace state carries, if valid.
pub(crate) fn carried_threshold(trace_state: &TraceState) -> Option<u64> {
    ot_field(trace_state, "th").and_then(decode_threshold)
}

fn ot_field<'a>(trace_state: &'a TraceState, key: &str) -> Option<&'a str> {
    trace_state.get("ot")?.split(';').find_map(|field| {
        let (name, value) = field.split_once(':')?;
        (name == key).then_some(value)
    })
}

/// `trace_state` with the `ot` member's `th` set to `threshold` (other `ot`
/// fields and other members kept; `ot` moves first, as W3C asks of an
/// updated member).
pub(crate) fn with_threshold(trace_state: &TraceState, threshold: u64) -> TraceState {
    let th = format!("th:{}", encode_threshold(threshold));
    let value = match trace_state.get("ot") {
        Some(ot) => std::iter::once(th.as_str())
            .chain(ot.split(';').filter(|field| !field.starts_with("th:")))
            .collect::<Vec<_>>()
            .join(";"),
        None => th,
    };
    trace_state
        .insert("ot", value)
        .unwrap_or_else(|_| trace_state.clone())
}

/// For a sampled context arriving from elsewhere: its trace state without
/// `th` when that threshold contradicts the decision (randomness below
/// it), as the specification asks of parent-based samplers; `None` when it
/// is consistent (or there is none).
pub(crate) fn erase_inconsistent_threshold(
    trace_id: TraceId,
    trace_state: &TraceState,
) -> Option<TraceState> {
    let threshold = carried_threshold(trace_state)?;
    if randomness(trace_id, trace_state) >= threshold {
        return None;
    }
    let rest: Vec<&str> = trace_state
        .get("ot")?
        .split(';')
        .filter(|field| !field.starts_with("th:"))
        .collect();
    let erased = if rest.is_empty() {
        trace_state.delete("ot")
    } else {
        trace_state.insert("ot", rest.join(";"))
    };
    erased.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's table of 1-in-N probabilities at precision 4.
    #[test]
    fn thresholds_match_the_specification_table() {
        let table = [
            (1.0, "0"),
            (0.5, "8"),
            (1.0 / 3.0, "aaab"),
            (0.25, "c"),
            (0.2, "cccd"),
            (0.125, "e"),
            (0.1, "e666"),
            (0.0625, "f"),
            (0.01, "fd70a"),
            (0.001, "ffbe77"),
            (0.0001, "fff9724"),
            (0.00001, "ffff583a"),
            (0.000001, "ffffef39"),
        ];
        for (probability, th) in table {
            assert_eq!(
                encode_threshold(threshold(probability)),
                th,
                "p = {probability}"
            );
        }
    }

    #[test]
    fn th_values_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_threshold("8"), Some(1 << 55));
        assert_eq!(decode_threshold("0"), Some(0));
        assert_eq!(decode_threshold("fd70a"), Some(0xfd70a << 36));
        assert_eq!(decode_threshold("ffffffffffffff"), Some(MAX_THRESHOLD - 1));
        for bad in ["", "fffffffffffffff", "xyz", "-1", "+8"] {
            assert_eq!(decode_threshold(bad), None, "{bad:?}");
        }
        for t in [0, 1 << 55, 0xfd70a << 36, 0xffbe77 << 32] {
            assert_eq!(decode_threshold(&encode_threshold(t)), Some(t));
        }
    }

    #[test]
    fn randomness_is_rv_or_the_trace_ids_low_56_bits() {
        let trace = TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128);
        assert_eq!(randomness(trace, &TraceState::NONE), 0x48eb211c80319c);
        let with_rv = TraceState::from_key_value([("ot", "th:8;rv:0123456789abcd")]).unwrap();
        assert_eq!(randomness(trace, &with_rv), 0x0123456789abcd);
        let short_rv = TraceState::from_key_value([("ot", "rv:1234")]).unwrap();
        assert_eq!(randomness(trace, &short_rv), 0x48eb211c80319c);
        assert_eq!(carried_threshold(&with_rv), Some(1 << 55));
    }

    #[test]
    fn an_inconsistent_threshold_is_erased() {
        let trace = TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128); // rv 0x48eb…
        let consistent = TraceState::from_key_value([("ot", "th:4")]).unwrap();
        assert_eq!(erase_inconsistent_threshold(trace, &consistent), None);
        let inconsistent = TraceState::from_key_value([("ot", "th:8;x:1"), ("v", "1")]).unwrap();
        let erased = erase_inconsistent_threshold(trace, &inconsistent).unwrap();
        assert_eq!(erased.header(), "ot=x:1,v=1");
        let only_th = TraceState::from_key_value([("ot", "th:8"), ("v", "1")]).unwrap();
        assert_eq!(
            erase_inconsistent_threshold(trace, &only_th)
                .unwrap()
                .header(),
            "v=1"
        );
    }

    #[test]
    fn setting_the_threshold_keeps_other_fields_and_members() {
        let state = TraceState::from_key_value([("vendor", "x"), ("ot", "rv:0123456789abcd;th:c")])
            .unwrap();
        let updated = with_threshold(&state, threshold(0.01));
        assert_eq!(updated.header(), "ot=th:fd70a;rv:0123456789abcd,vendor=x");
        assert_eq!(with_threshold(&TraceState::NONE, 0).header(), "ot=th:0");
    }
}
