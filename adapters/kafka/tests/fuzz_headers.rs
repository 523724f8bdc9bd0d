//! Property tests of the header carriers with arbitrary bytes, as any
//! client may put on a record: no panic, and the last header of a key wins
//! when it is UTF-8 text.

mod support;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use proptest::prelude::*;
use rdkafka::message::OwnedHeaders;
use spanflow_kafka::HeaderExtractor;
use support::add_raw_header;

/// Keys: mostly the trace headers and short ASCII, some arbitrary bytes.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"traceparent".to_vec()),
        Just(b"tracestate".to_vec()),
        Just(b"baggage".to_vec()),
        "[a-z]{1,3}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]".prop_map(String::into_bytes),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_headers_read_without_panic_and_the_last_one_wins(
        pairs in proptest::collection::vec((key(), value()), 0..12),
    ) {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &pairs {
            add_raw_header(&mut headers, key, value);
        }
        let read = HeaderExtractor::new(&headers);
        for listed in read.keys() {
            prop_assert!(!listed.contains('\0'));
        }
        for wanted in ["traceparent", "tracestate", "baggage", "a", "b"] {
            // librdkafka matches a name by its length and then as a C
            // string, so a key with a NUL inside is never found by name.
            let last = pairs
                .iter()
                .rev()
                .find(|(key, _)| key.as_slice() == wanted.as_bytes());
            let expected = last
                .map(|(_, value)| value)
                .filter(|value| !value.is_empty())
                .and_then(|value| std::str::from_utf8(value).ok());
            prop_assert_eq!(read.get(wanted), expected, "{}", wanted);
        }
        // The propagators take whatever is there without panicking.
        let propagator = spanflow::propagation::TraceContextPropagator::new();
        let _ = propagator.extract(&read);
        let _ = spanflow::propagation::BaggagePropagator::new().extract(&read);
    }
}
