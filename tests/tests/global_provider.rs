//! `#[trace]` spans through whatever provider `opentelemetry::global` holds.

use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use spanflow::trace;

#[trace]
fn outer() -> opentelemetry::trace::TraceId {
    inner();
    opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id()
}

#[trace]
fn inner() {}

#[test]
fn spans_follow_the_global_provider_installed_later() {
    let _guard = spanflow::install_global_tracer_provider().expect("first install");
    // Installed after spanflow: still used, since the global is read per span.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider);

    let trace = outer();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace));
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    let inner = spans.iter().find(|s| s.name == "inner").unwrap();
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
}
