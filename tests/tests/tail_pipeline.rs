//! Tail sampling in a pipeline: spanflow spans (and OpenTelemetry API spans
//! under them) reach the exporter as whole kept traces.

use opentelemetry::trace::{TraceContextExt, TraceId, Tracer as _};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::tail::{Policy, TailSampler};
use spanflow::trace;

#[trace(err)]
async fn checkout(fail: bool) -> Result<TraceId, String> {
    let trace = opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id();
    spanflow::spawn(reserve()).await.unwrap();
    opentelemetry::global::tracer("db").in_span("SELECT", |_| {});
    if fail {
        return Err("card declined".into());
    }
    Ok(trace)
}

#[trace]
async fn reserve() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_traces_are_exported_whole_and_the_rest_dropped() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_tail_sampling(TailSampler::builder(Policy::errors()))
        .install()
        .expect("the only pipeline of this binary");

    let mut failed = Vec::new();
    let mut fine = Vec::new();
    for index in 0..20 {
        let root = spanflow::span!("request");
        let trace = root.span_context().trace_id();
        let outcome = spanflow::TracedExt::in_span(checkout(index % 4 == 0), root).await;
        match outcome {
            Ok(_) => fine.push(trace),
            Err(_) => failed.push(trace),
        }
    }
    pipeline.flush().expect("flushed");

    let spans = exporter.get_finished_spans().unwrap();
    for trace in &failed {
        let names: Vec<&str> = spans
            .iter()
            .filter(|span| span.span_context.trace_id() == *trace)
            .map(|span| span.name.as_ref())
            .collect();
        assert_eq!(
            names.len(),
            4,
            "request, checkout, reserve, SELECT: {names:?}"
        );
    }
    assert!(
        spans
            .iter()
            .all(|span| failed.contains(&span.span_context.trace_id()))
    );
    let stats = pipeline.tail_stats().expect("a tail sampler");
    assert_eq!((stats.traces_kept, stats.traces_dropped), (5, 15));
    assert_eq!((stats.spans_kept, stats.spans_dropped), (20, 60));
    assert_eq!(fine.len(), 15);
}
