//! Nested sync and async calls make one tree, on any thread.

mod common;

use common::*;
use opentelemetry::trace::TraceId;
use spanflow::trace;

#[trace]
fn parse(input: &str) -> usize {
    validate(input);
    input.len()
}

#[trace]
fn validate(_input: &str) {}

#[trace]
async fn handle(input: String) -> (TraceId, usize) {
    let length = parse(&input);
    load().await;
    (current_trace_id(), length)
}

#[trace]
async fn load() {
    tokio::task::yield_now().await;
    fetch().await;
}

#[trace]
async fn fetch() {
    tokio::task::yield_now().await;
}

#[tokio::test]
async fn nested_sync_and_async_calls_make_one_tree() {
    setup();
    let (trace_id, length) = handle("order-1".to_owned()).await;
    assert_eq!(length, 7);

    let spans = spans_of(trace_id);
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let handle = one(&spans, "handle");
    assert_root(handle);
    assert_child_of(one(&spans, "parse"), handle);
    assert_child_of(one(&spans, "validate"), one(&spans, "parse"));
    assert_child_of(one(&spans, "load"), handle);
    assert_child_of(one(&spans, "fetch"), one(&spans, "load"));
}

#[trace]
async fn request(id: usize) -> (usize, TraceId) {
    let before = current_trace_id();
    for _ in 0..3 {
        step().await;
        assert_eq!(
            current_trace_id(),
            before,
            "request {id} changed trace mid-flight"
        );
    }
    let spawned = spanflow::spawn(async move {
        step().await;
        current_trace_id()
    })
    .await
    .expect("task");
    assert_eq!(spawned, before);
    (id, before)
}

#[trace]
async fn step() {
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_keep_their_own_traces() {
    setup();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..1000 {
        tasks.spawn(request(id));
    }
    let mut traces = std::collections::HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (_, trace_id) = done.expect("request task");
        assert!(traces.insert(trace_id), "two requests share a trace");
    }
    assert_eq!(traces.len(), 1000);

    // Every trace is whole: 1 request + 3 steps + 1 spawned step, all under the request.
    for trace_id in traces.iter().take(50) {
        let spans = spans_of(*trace_id);
        assert_eq!(spans.len(), 5, "{spans:#?}");
        let root = one(&spans, "request");
        for span in spans.iter().filter(|s| s.name == "step") {
            assert_child_of(span, root);
        }
    }
}

#[test]
fn spans_started_on_one_thread_parent_spans_on_another() {
    setup();
    #[trace]
    fn outer() -> TraceId {
        let cx = spanflow::current_context();
        std::thread::spawn(move || spanflow::with_context(&cx, inner))
            .join()
            .expect("thread");
        current_trace_id()
    }
    #[trace]
    fn inner() {}

    let spans = spans_of(outer());
    assert_child_of(one(&spans, "inner"), one(&spans, "outer"));
}
