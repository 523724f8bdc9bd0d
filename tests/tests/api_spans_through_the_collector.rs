//! Spans made through the OpenTelemetry API (third-party instrumentation)
//! reach the pipeline's processors on the collector thread, as spanflow's
//! spans do: an API root goes out after the spanflow spans of its trace
//! that ended before it, so the terminal tree draws one tree; a processor
//! that panics on an API span does not panic the application; and API
//! spans wait in a bounded queue, dropped and counted when it is full.

mod faulty;
mod printed;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use faulty::PanicsOnce;
use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanProcessor};
use printed::Printed;

#[spanflow::trace]
fn child() {}

static STALLED: AtomicBool = AtomicBool::new(false);

/// A processor that holds the collector while [`STALLED`] is set, like an
/// exporter that cannot keep up.
#[derive(Debug)]
struct Stallable;

impl SpanProcessor for Stallable {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}

    fn on_end(&self, _span: SpanData) {
        while STALLED.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

const QUEUE: usize = 64;

#[test]
fn an_api_root_goes_out_after_its_spanflow_children_and_panics_stay_off_the_caller() {
    let exporter = InMemorySpanExporter::default();
    let printed = Printed::default();
    let panics = PanicsOnce::default();
    let pipeline = spanflow::Pipeline::new()
        // Panics on the first span it is given.
        .with_span_processor(panics.clone())
        .with_span_processor(Stallable)
        .with_simple_exporter(exporter.clone())
        .with_simple_exporter(printed.exporter())
        // Nothing is drained before the flush unless a queue fills.
        .with_collect_interval(Duration::from_secs(3600))
        .with_queue_capacity(QUEUE)
        .install()
        .expect("the only pipeline of this binary");
    let tracer = opentelemetry::global::tracer("third-party");

    // Ended on this thread: under the SDK's own provider the panicking
    // processor would unwind through here.
    tracer.in_span("first api span", |_| {});
    pipeline.flush().expect("flushed");
    assert!(panics.panicked(), "the processor saw the span and panicked");

    let trace = tracer.in_span("api root", |cx| {
        child();
        child();
        cx.span().span_context().trace_id()
    });
    pipeline.flush().expect("flushed");

    let names: Vec<String> = exporter
        .get_finished_spans()
        .expect("finished spans")
        .iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .map(|span| span.name.to_string())
        .collect();
    assert_eq!(names, ["child", "child", "api root"]);
    let trees = printed.trees();
    assert_eq!(trees.len(), 1, "one tree:\n{}", printed.text());
    assert!(
        trees[0].contains("\"api root\"") && trees[0].ends_with("spans=3"),
        "{}",
        printed.text()
    );
    assert_eq!(panics.names(), ["child", "child", "api root"]);

    // The collector held by a processor: API spans beyond the queue (and
    // the few the collector took before it stalled) are dropped, counted,
    // and never block the caller.
    STALLED.store(true, Ordering::Relaxed);
    let (collected, dropped) = (pipeline.collected_spans(), pipeline.dropped_spans());
    let made = 10 * QUEUE as u64;
    for _ in 0..made {
        tracer.in_span("under load", |_| {});
    }
    STALLED.store(false, Ordering::Relaxed);
    pipeline.flush().expect("flushed");
    let dropped = pipeline.dropped_spans() - dropped;
    let collected = pipeline.collected_spans() - collected;
    assert_eq!(collected + dropped, made, "each span collected or counted");
    assert!(
        dropped >= made - 3 * QUEUE as u64,
        "only {dropped} of {made} dropped: the queue held more than its bound"
    );
}
