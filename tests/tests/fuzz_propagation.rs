//! Property tests ("fuzzing" on stable Rust: cargo-fuzz needs nightly) of
//! the W3C parsers: arbitrary `traceparent`, `tracestate` and `baggage`
//! headers never panic, what is accepted is well-formed, and valid
//! contexts round-trip.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use proptest::prelude::*;
use spanflow::propagation::{BaggagePropagator, TraceContextPropagator};

fn headers(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect()
}

/// Header-like text: mostly the characters W3C headers use, some not.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f-]{0,80}",
        "[ -~]{0,300}",
        ".{0,200}",
        "00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[ -~]{0,10})?",
        "([a-z0-9_*/@-]{1,20}=[!-+--~]{0,20},?){0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_trace_context_headers_extract_without_panic(
        traceparent in header_text(),
        tracestate in header_text(),
    ) {
        let carrier = headers(&[("traceparent", traceparent.clone()), ("tracestate", tracestate)]);
        let extracted = TraceContextPropagator::new().extract(&carrier);
        let span = extracted.span();
        let context = span.span_context();
        if context.is_valid() {
            // Accepted only with valid ids, and always as a remote parent.
            prop_assert!(context.is_remote());
            prop_assert_ne!(context.trace_id(), TraceId::INVALID);
            prop_assert_ne!(context.span_id(), SpanId::INVALID);
            prop_assert!(traceparent.trim().len() >= 55);
        }
    }

    #[test]
    fn any_baggage_header_extracts_within_the_limits(baggage in header_text()) {
        let carrier = headers(&[("baggage", baggage)]);
        let extracted = BaggagePropagator::new().extract(&carrier);
        let entries = extracted.baggage();
        prop_assert!(entries.len() <= 64);
        // Whatever was accepted is injected again without panicking.
        let mut out = HashMap::new();
        BaggagePropagator::new().inject_context(&extracted, &mut out);
        prop_assert!(out.get("baggage").is_none_or(|value| value.len() <= 8_192));
    }

    #[test]
    fn valid_contexts_round_trip(
        trace in 1u128..,
        span in 1u64..,
        sampled in any::<bool>(),
        vendor in "[a-z][a-z0-9]{0,10}",
        value in "[!-+--<>-~]{1,20}",
    ) {
        let state = TraceState::from_key_value([(vendor.clone(), value.clone())]).unwrap();
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sent = SpanContext::new(TraceId::from(trace), SpanId::from(span), flags, true, state);
        let context = Context::new().with_remote_span_context(sent.clone());
        let mut carrier = HashMap::new();
        let propagator = TraceContextPropagator::new();
        propagator.inject_context(&context, &mut carrier);
        let received = propagator.extract(&carrier);
        let received = received.span();
        let received = received.span_context();
        prop_assert_eq!(received.trace_id(), sent.trace_id());
        prop_assert_eq!(received.span_id(), sent.span_id());
        prop_assert_eq!(received.is_sampled(), sampled);
        prop_assert_eq!(received.trace_state().get(&vendor), Some(value.as_str()));
    }
}
