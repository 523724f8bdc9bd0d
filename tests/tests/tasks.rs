//! The spawn family, streams and hand-made boundaries carry the context.

mod common;

use common::*;
use futures::{FutureExt, StreamExt};
use opentelemetry::trace::{Status, TraceId};
use opentelemetry::{KeyValue, Value};
use spanflow::{JoinSetExt, TracedExt, TracedStream, trace};

#[trace]
async fn child() -> TraceId {
    tokio::task::yield_now().await;
    current_trace_id()
}

#[trace]
fn blocking_child() -> TraceId {
    current_trace_id()
}

#[trace]
async fn parent_of_all() -> TraceId {
    let trace = current_trace_id();
    assert_eq!(spanflow::spawn(child()).await.unwrap(), trace);
    assert_eq!(
        spanflow::spawn_blocking(blocking_child).await.unwrap(),
        trace
    );

    let mut set = tokio::task::JoinSet::new();
    set.spawn_traced(child());
    set.spawn_blocking_traced(blocking_child);
    while let Some(joined) = set.join_next().await {
        assert_eq!(joined.unwrap(), trace);
    }
    trace
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_spawn_blocking_and_join_set_parent_to_the_caller() {
    setup();
    let trace = parent_of_all().await;
    let spans = spans_of(trace);
    let root = one(&spans, "parent_of_all");
    let children: Vec<_> = spans.iter().filter(|s| s.name != "parent_of_all").collect();
    assert_eq!(children.len(), 4);
    for span in children {
        assert_child_of(span, root);
    }
}

#[test]
fn spawn_local_parents_to_the_caller() {
    setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    #[trace]
    async fn outer() -> TraceId {
        let trace = current_trace_id();
        assert_eq!(spanflow::spawn_local(child()).await.unwrap(), trace);
        trace
    }
    let trace = local.block_on(&runtime, outer());
    let spans = spans_of(trace);
    assert_child_of(one(&spans, "child"), one(&spans, "outer"));
}

#[tokio::test]
async fn plain_tokio_spawn_loses_the_context_which_is_why_spanflow_spawn_exists() {
    setup();
    #[trace]
    async fn outer() -> (TraceId, TraceId) {
        let trace = current_trace_id();
        let spawned = tokio::spawn(child()).await.unwrap();
        (trace, spawned)
    }
    let (trace, spawned) = outer().await;
    assert_ne!(trace, spawned);
}

#[tokio::test]
async fn a_stream_span_with_item_spans() {
    setup();
    #[trace]
    async fn consume() -> TraceId {
        let items = futures::stream::iter([1, 2, 3]).then(|n| async move {
            tokio::task::yield_now().await;
            spanflow::current::set_attribute(KeyValue::new("item", i64::from(n)));
            n * 10
        });
        let traced = TracedStream::new(items, spanflow::span!("orders.stream"))
            .with_item_spans(spanflow::callsite!("orders.item", kind = consumer));
        let collected: Vec<i32> = traced.collect().await;
        assert_eq!(collected, [10, 20, 30]);
        current_trace_id()
    }
    let spans = spans_of(consume().await);
    let stream = one(&spans, "orders.stream");
    assert_child_of(stream, one(&spans, "consume"));
    let items: Vec<_> = spans.iter().filter(|s| s.name == "orders.item").collect();
    assert_eq!(
        items.len(),
        3,
        "one span per item, none for the end of the stream"
    );
    let mut numbers = Vec::new();
    for item in items {
        assert_child_of(item, stream);
        assert_eq!(item.span_kind, opentelemetry::trace::SpanKind::Consumer);
        numbers.push(int_attribute(item, "item"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3], "each item's own attribute on its span");
    assert_eq!(attribute(stream, "spanflow.cancelled"), None);
    assert_eq!(attribute(stream, "item"), None);
}

#[tokio::test]
async fn a_stream_span_takes_what_its_polls_add_and_ends_on_a_panic() {
    setup();
    #[trace]
    async fn consume() -> TraceId {
        let items = futures::stream::iter([1, 2]).map(|n| {
            spanflow::current::add_event("made", vec![KeyValue::new("n", n)]);
            assert!(n < 2, "the second item cannot be made");
            n
        });
        let mut traced = TracedStream::new(items, spanflow::span!("numbers.stream"));
        assert_eq!(traced.next().await, Some(1));
        let trace = current_trace_id();
        let unwound = std::panic::AssertUnwindSafe(traced.next())
            .catch_unwind()
            .await;
        assert!(unwound.is_err(), "the panic goes on to the consumer");
        trace
    }
    let spans = spans_of(consume().await);
    let stream = one(&spans, "numbers.stream");
    let events: Vec<&str> = stream.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["made", "made", "exception"], "{stream:#?}");
    assert!(
        matches!(stream.status, Status::Error { .. }),
        "{:?}",
        stream.status
    );
    assert_eq!(attribute(stream, "spanflow.cancelled"), None);
}

#[tokio::test]
async fn a_stream_dropped_early_is_cancelled() {
    setup();
    #[trace]
    async fn take_one() -> TraceId {
        let mut traced =
            TracedStream::new(futures::stream::iter(0..10), spanflow::span!("numbers"));
        assert_eq!(traced.next().await, Some(0));
        current_trace_id()
    }
    let spans = spans_of(take_one().await);
    assert_eq!(
        attribute(one(&spans, "numbers"), "spanflow.cancelled"),
        Some(&Value::Bool(true))
    );
}

#[tokio::test]
async fn hand_made_boundaries() {
    setup();
    #[trace]
    async fn sender(tx: tokio::sync::mpsc::Sender<(opentelemetry::Context, u32)>) -> TraceId {
        tx.send((spanflow::current_context(), 7)).await.unwrap();
        current_trace_id()
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let trace = sender(tx).await;
    let (context, message) = rx.recv().await.unwrap();
    assert_eq!(message, 7);
    let handled = spanflow::in_context(context.clone(), child()).await;
    assert_eq!(handled, trace);
    let sync = spanflow::with_context(&context, blocking_child);
    assert_eq!(sync, trace);
    let mut manual = spanflow::span!("manual");
    manual.set_attribute(opentelemetry::KeyValue::new("step", 1));
    let inner = async { child().await }.in_span(manual).await;
    let spans = spans_of(trace);
    assert_eq!(spans.iter().filter(|s| s.name == "child").count(), 1);
    assert_child_of(one(&spans, "blocking_child"), one(&spans, "sender"));
    let manual_spans = spans_of(inner);
    assert_eq!(
        attribute(one(&manual_spans, "manual"), "step"),
        Some(&Value::I64(1))
    );
    assert_child_of(one(&manual_spans, "child"), one(&manual_spans, "manual"));
}
