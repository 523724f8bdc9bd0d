//! OpenTelemetry's telemetry suppression (`Context::enter_telemetry_suppressed_scope`,
//! which export threads enter): spans started inside it are not recorded,
//! spanflow's as well as the SDK's, so an exporter that calls instrumented
//! code does not trace its own exports.

use opentelemetry::Context;
use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};

/// An exporter whose export calls instrumented code, as one with a traced
/// HTTP client would.
#[derive(Clone, Debug)]
struct CallsTracedCode(InMemorySpanExporter);

impl SpanExporter for CallsTracedCode {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        client_call();
        self.0.export(batch).await
    }
}

#[spanflow::trace]
fn request() {}

#[spanflow::trace]
fn client_call() {
    encode();
}

#[spanflow::trace]
fn encode() {}

fn names(exporter: &InMemorySpanExporter) -> Vec<String> {
    let mut names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|span| span.name.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn spans_in_a_suppressed_scope_and_an_exporters_own_calls_are_not_recorded() {
    // Batched (spanflow's export thread) and simple (the collector thread).
    let memory = InMemorySpanExporter::default();
    let simple = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_batch_exporter(CallsTracedCode(memory.clone()))
        .with_simple_exporter(CallsTracedCode(simple.clone()))
        .install()
        .expect("installed once per process");

    request();
    // The first flush exports `request`; spans the export made would be
    // exported by the second.
    pipeline.flush().unwrap();
    pipeline.flush().unwrap();
    assert_eq!(names(&memory), ["request"]);
    assert_eq!(names(&simple), ["request"]);

    {
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        request();
        opentelemetry::global::tracer_provider()
            .tracer("a-library")
            .in_span("library work", |_| client_call());
    }
    request();
    pipeline.flush().unwrap();
    pipeline.flush().unwrap();
    for exporter in [&memory, &simple] {
        assert_eq!(
            names(exporter),
            ["request", "request"],
            "only the span made outside the suppressed scope"
        );
    }
}
