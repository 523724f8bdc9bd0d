//! With `Pipeline::with_writable_active_span`, what OpenTelemetry's API
//! writes to the active span reaches the spanflow span whose work is
//! running: in a `#[trace]` fn, in a traced future's polls on any worker,
//! in a spawned task, or through its `Context` while its child runs; and
//! nothing is written once the span is over. Its
//! cost in allocations: `writable_active_span_allocations.rs`.

use std::sync::OnceLock;

use opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState, get_active_span,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::{PipelineGuard, trace};

fn installed() -> &'static (InMemorySpanExporter, PipelineGuard) {
    static INSTALLED: OnceLock<(InMemorySpanExporter, PipelineGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .with_writable_active_span(true)
            .install()
            .expect("the only pipeline of this test binary");
        (exporter, pipeline)
    })
}

fn spans_of(trace_id: TraceId) -> Vec<SpanData> {
    let (exporter, pipeline) = installed();
    pipeline.flush().expect("flushed");
    exporter
        .get_finished_spans()
        .expect("in-memory exporter")
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id)
        .collect()
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(found.len(), 1, "one {name:?} among {spans:#?}");
    found[0]
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn current_trace_id() -> TraceId {
    Context::current().span().span_context().trace_id()
}

fn linked() -> SpanContext {
    SpanContext::new(
        TraceId::from(0x77u128),
        SpanId::from(0x78u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    )
}

/// Writes through the API only, as a helper shared with SDK services does.
fn enrich(user: &str) -> bool {
    get_active_span(|span| {
        span.set_attribute(KeyValue::new("user.id", user.to_owned()));
        span.add_event("cache.miss", vec![KeyValue::new("key", "user:7")]);
        span.set_status(Status::error("upstream refused"));
        span.set_status(Status::Unset);
        span.update_name("handle user");
        span.add_link(linked(), vec![KeyValue::new("link.reason", "retry")]);
        span.is_recording()
    })
}

#[trace]
fn handle() -> (TraceId, bool) {
    let recording = enrich("u-7");
    (current_trace_id(), recording)
}

#[test]
fn the_api_writes_to_the_running_trace_span() {
    installed();
    let (trace_id, recording) = handle();
    assert!(recording, "the API sees the span as recording");
    let spans = spans_of(trace_id);
    let span = one(&spans, "handle user");
    assert_eq!(
        attribute(span, "user.id"),
        Some(&Value::from("u-7")),
        "{span:#?}"
    );
    let events: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["cache.miss"]);
    assert_eq!(
        span.status,
        Status::error("upstream refused"),
        "Unset after an error changes nothing"
    );
    let link = span.links.iter().next().expect("a link");
    assert_eq!(link.span_context.span_id(), SpanId::from(0x78u64));
    assert_eq!(
        link.attributes,
        [KeyValue::new("link.reason", "retry")],
        "{link:#?}"
    );
}

#[trace]
async fn parent_task() -> TraceId {
    get_active_span(|span| span.set_attribute(KeyValue::new("polled", "before")));
    tokio::task::yield_now().await;
    spanflow::spawn(child_task()).await.expect("task");
    get_active_span(|span| span.set_attribute(KeyValue::new("polled.again", "after")));
    current_trace_id()
}

#[trace]
async fn child_task() {
    tokio::task::yield_now().await;
    get_active_span(|span| span.set_attribute(KeyValue::new("child.only", true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_any_poll_reach_their_own_span() {
    installed();
    let trace_id = parent_task().await;
    let spans = spans_of(trace_id);
    let parent = one(&spans, "parent_task");
    let child = one(&spans, "child_task");
    assert_eq!(attribute(parent, "polled"), Some(&Value::from("before")));
    assert_eq!(
        attribute(parent, "polled.again"),
        Some(&Value::from("after"))
    );
    assert_eq!(attribute(parent, "child.only"), None, "{parent:#?}");
    assert_eq!(attribute(child, "child.only"), Some(&Value::from(true)));
    assert_eq!(child.parent_span_id, parent.span_context.span_id());
}

#[trace]
fn lend_context() -> Context {
    Context::current()
}

#[trace]
fn after_the_lender() -> TraceId {
    current_trace_id()
}

#[test]
fn a_context_kept_past_its_span_writes_nothing() {
    installed();
    let kept = lend_context();
    let trace_id = kept.span().span_context().trace_id();
    assert!(!kept.span().is_recording(), "its span has ended");
    kept.span().set_attribute(KeyValue::new("too.late", true));
    // Attached, it still is not the span whose work runs.
    {
        let _attached = kept.clone().attach();
        get_active_span(|span| span.set_attribute(KeyValue::new("too.late", true)));
        let next = after_the_lender();
        assert_eq!(next, trace_id, "a child of the kept context");
    }
    let spans = spans_of(trace_id);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in &spans {
        assert_eq!(attribute(span, "too.late"), None, "{span:#?}");
    }
}

#[trace]
fn outer() -> (TraceId, bool) {
    let own = Context::current();
    let recording_inside_child = inner(&own);
    (current_trace_id(), recording_inside_child)
}

#[trace]
fn inner(parent: &Context) -> bool {
    parent
        .span()
        .set_attribute(KeyValue::new("from.child", true));
    parent.span().is_recording()
}

#[test]
fn a_parent_written_to_while_its_child_runs_takes_the_write() {
    installed();
    let (trace_id, recording) = outer();
    assert!(
        !recording,
        "while the child runs, a write to the parent does not surely land"
    );
    let spans = spans_of(trace_id);
    assert_eq!(
        attribute(one(&spans, "outer"), "from.child"),
        Some(&Value::from(true)),
        "it lands, through the collector, since the parent had not ended"
    );
    assert_eq!(attribute(one(&spans, "inner"), "from.child"), None);
}
