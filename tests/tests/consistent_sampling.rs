//! Head sampling by consistent probability: decisions by the
//! specification's formula for spanflow's spans and for spans made through
//! the OpenTelemetry API, the threshold exported and sent downstream.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span as _, TraceContextExt, TraceId, Tracer as _};
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// Kept when the trace id's low 56 bits are at least the rejection
/// threshold: for 0.5, 2^55.
fn formula_keeps_at_half(trace: TraceId) -> bool {
    let low56 = u128::from_be_bytes(trace.to_bytes()) as u64 & ((1 << 56) - 1);
    low56 >= 1 << 55
}

#[test]
fn decisions_follow_the_formula_and_carry_the_threshold() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampler(spanflow::Sampler::ratio(0.5))
        .install()
        .expect("the only pipeline of this binary");

    const ROOTS: usize = 2_000;
    let mut decided = Vec::with_capacity(2 * ROOTS);
    for _ in 0..ROOTS {
        let span = spanflow::span!("spanflow root");
        let context = span.span_context();
        decided.push((context.trace_id(), context.is_sampled()));
    }
    let tracer = opentelemetry::global::tracer("api");
    for _ in 0..ROOTS {
        let mut span = tracer.start("api root");
        let context = span.span_context().clone();
        span.end();
        decided.push((context.trace_id(), context.is_sampled()));
    }
    for (trace, sampled) in &decided {
        assert_eq!(*sampled, formula_keeps_at_half(*trace), "{trace}");
    }
    let kept = decided.iter().filter(|(_, sampled)| *sampled).count();
    assert!(
        (1_800..=2_200).contains(&kept),
        "about half of 4,000: {kept}"
    );

    pipeline.flush().expect("flushed");
    let exported: HashMap<TraceId, String> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| {
            (
                span.span_context.trace_id(),
                span.span_context.trace_state().header(),
            )
        })
        .collect();
    assert_eq!(exported.len(), kept, "every kept root exported, no other");
    assert!(
        exported.values().all(|state| state == "ot=th:8"),
        "th exported"
    );

    // Sent downstream with the trace, and inherited by children.
    let mut root = loop {
        let span = spanflow::span!("request");
        if span.is_recording() {
            break span;
        }
    };
    let mut headers = HashMap::new();
    root.in_scope(|| {
        let mut child = spanflow::span!("child");
        assert_eq!(child.span_context().trace_state().header(), "ot=th:8");
        child.in_scope(|| {
            spanflow::propagation::TraceContextPropagator::new()
                .inject_context(&opentelemetry::Context::current(), &mut headers)
        });
    });
    assert_eq!(
        headers.get("tracestate").map(String::as_str),
        Some("ot=th:8")
    );
    assert!(
        opentelemetry::Context::current()
            .span()
            .span_context()
            .trace_state()
            .header()
            .is_empty()
    );
}
