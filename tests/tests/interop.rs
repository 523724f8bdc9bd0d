//! spanflow spans and plain OpenTelemetry API spans make one tree, in both
//! directions, sync and async, across spawn; no span lost or duplicated.

mod common;

use common::*;
use opentelemetry::Context;
use opentelemetry::global;
use opentelemetry::trace::{FutureExt, TraceContextExt, TraceId, Tracer};
use spanflow::trace;

#[trace]
fn traced_sync() -> TraceId {
    global::tracer("library").in_span("library.sync", |_| {
        traced_leaf();
    });
    current_trace_id()
}

#[trace]
fn traced_leaf() {}

#[test]
fn api_spans_nest_under_trace_and_trace_under_api_spans_sync() {
    setup();
    let trace = traced_sync();
    let spans = spans_of(trace);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let library = one(&spans, "library.sync");
    assert_child_of(library, one(&spans, "traced_sync"));
    assert_child_of(one(&spans, "traced_leaf"), library);
    assert_eq!(library.instrumentation_scope.name(), "library");
    assert_eq!(
        one(&spans, "traced_leaf").instrumentation_scope.name(),
        "spanflow"
    );
}

#[trace]
async fn traced_async() -> TraceId {
    let tracer = global::tracer("library");
    let span = tracer.start("library.async");
    let cx = Context::current_with_span(span);
    async {
        tokio::task::yield_now().await;
        spanflow::spawn(traced_async_leaf()).await.expect("task");
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();
    current_trace_id()
}

#[trace]
async fn traced_async_leaf() {
    tokio::task::yield_now().await;
    global::tracer("library").in_span("library.leaf", |_| {});
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_spans_and_trace_spans_interleave_across_await_and_spawn() {
    setup();
    let trace = traced_async().await;
    let spans = spans_of(trace);
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let library = one(&spans, "library.async");
    assert_child_of(library, one(&spans, "traced_async"));
    let leaf = one(&spans, "traced_async_leaf");
    assert_child_of(leaf, library);
    assert_child_of(one(&spans, "library.leaf"), leaf);
}

#[tokio::test]
async fn an_api_root_span_parents_trace_spans() {
    setup();
    let tracer = global::tracer("library");
    let trace = tracer.in_span("library.root", |_| traced_sync());
    let spans = spans_of(trace);
    assert_eq!(spans.len(), 4);
    assert_root(one(&spans, "library.root"));
    assert_child_of(one(&spans, "traced_sync"), one(&spans, "library.root"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_mixed_trees_lose_and_duplicate_nothing() {
    setup();
    let mut traces = Vec::new();
    for _ in 0..100 {
        traces.push(spanflow::spawn(traced_async()));
    }
    for handle in traces {
        let trace = handle.await.expect("task");
        let spans = spans_of(trace);
        assert_eq!(spans.len(), 4, "{spans:#?}");
        let mut ids: Vec<_> = spans.iter().map(|s| s.span_context.span_id()).collect();
        ids.sort_by_key(|id| id.to_bytes());
        ids.dedup();
        assert_eq!(ids.len(), 4, "a span was exported twice");
    }
}

#[trace]
fn written_through_the_api() -> (TraceId, bool) {
    let recording = opentelemetry::trace::get_active_span(|span| {
        span.set_attribute(opentelemetry::KeyValue::new("through.api", true));
        span.is_recording()
    });
    (current_trace_id(), recording)
}

/// The default that `Pipeline::with_writable_active_span` changes
/// (`tests/writable_active_span.rs`): the API sees a span context only.
#[test]
fn by_default_the_api_cannot_write_to_a_spanflow_span() {
    setup();
    let (trace, recording) = written_through_the_api();
    assert!(!recording, "the API sees no recording span");
    let spans = spans_of(trace);
    let span = one(&spans, "written_through_the_api");
    assert_eq!(attribute(span, "through.api"), None, "{span:#?}");
}

/// `Span::in_scope` enters the span as a `#[trace]` fn's body does: what
/// code without a handle adds lands on it, also when the scope unwinds.
#[test]
fn what_is_added_inside_in_scope_lands_on_that_span() {
    use opentelemetry::KeyValue;
    setup();
    let mut span = spanflow::span!("reconcile");
    let trace = span.span_context().trace_id();
    span.in_scope(|| {
        spanflow::current::add_event("step", vec![]);
        spanflow::current::set_attribute(KeyValue::new("items", 3));
        traced_leaf();
        spanflow::current::add_event("after the child", vec![]);
    });
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        span.in_scope(|| {
            spanflow::current::add_event("before the panic", vec![]);
            panic!("the scope unwinds");
        })
    }));
    assert!(unwound.is_err());
    span.end();
    let spans = spans_of(trace);
    let reconcile = one(&spans, "reconcile");
    let events: Vec<&str> = reconcile.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["step", "after the child", "before the panic"]);
    assert_eq!(
        attribute(reconcile, "items"),
        Some(&opentelemetry::Value::I64(3))
    );
    assert_child_of(one(&spans, "traced_leaf"), reconcile);
}

/// `Span::enter`, the guard form of `in_scope`: current and entered until
/// the guard is dropped.
#[test]
fn an_entered_span_takes_what_is_added_until_its_guard_drops() {
    setup();
    let mut span = spanflow::span!("guarded");
    let trace = span.span_context().trace_id();
    {
        let _entered = span.enter();
        spanflow::current::add_event("inside", vec![]);
        traced_leaf();
    }
    spanflow::current::add_event("after the guard", vec![]);
    span.end();
    let spans = spans_of(trace);
    let guarded = one(&spans, "guarded");
    let events: Vec<&str> = guarded.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["inside"]);
    assert_child_of(one(&spans, "traced_leaf"), guarded);
}
