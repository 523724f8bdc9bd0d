//! Every span ends exactly once: on completion, cancellation, panic, early
//! return and `?`; and the thread's context is restored afterwards.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::*;
use opentelemetry::trace::{Status, TraceContextExt, TraceId};
use opentelemetry::{Context, Value};
use spanflow::trace;

#[trace]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[trace]
async fn with_timeout() -> TraceId {
    let timed_out = tokio::time::timeout(Duration::from_millis(5), never_finishes()).await;
    assert!(timed_out.is_err());
    current_trace_id()
}

#[tokio::test]
async fn a_timed_out_future_ends_its_span_marked_cancelled() {
    setup();
    let trace = with_timeout().await;
    let spans = spans_of(trace);
    let cancelled = one(&spans, "never_finishes");
    assert_eq!(
        attribute(cancelled, "spanflow.cancelled"),
        Some(&Value::Bool(true))
    );
    assert_eq!(cancelled.status, Status::Unset);
    assert_child_of(cancelled, one(&spans, "with_timeout"));
    assert_eq!(
        attribute(one(&spans, "with_timeout"), "spanflow.cancelled"),
        None
    );
}

#[trace]
async fn fast_branch() -> u8 {
    tokio::task::yield_now().await;
    1
}

#[trace]
async fn race() -> TraceId {
    tokio::select! {
        biased;
        value = fast_branch() => assert_eq!(value, 1),
        _ = never_finishes() => unreachable!(),
    }
    current_trace_id()
}

#[tokio::test]
async fn the_losing_select_branch_is_cancelled_exactly_once() {
    setup();
    let spans = spans_of(race().await);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    assert_eq!(
        attribute(one(&spans, "fast_branch"), "spanflow.cancelled"),
        None
    );
    // fast_branch yields once, so the losing branch is polled (and its span
    // started) before it is dropped. An async fn's span starts at its first poll.
    let lost = one(&spans, "never_finishes");
    assert_eq!(
        attribute(lost, "spanflow.cancelled"),
        Some(&Value::Bool(true))
    );
}

#[trace]
fn panics_sync() {
    panic!("inventory exploded");
}

#[test]
fn a_sync_panic_ends_the_span_with_its_message_and_restores_the_context() {
    setup();
    #[trace]
    fn outer() -> TraceId {
        let before = Context::current().span().span_context().span_id();
        let caught = catch_unwind(panics_sync);
        let payload = caught.expect_err("the panic continues");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inventory exploded"));
        assert_eq!(Context::current().span().span_context().span_id(), before);
        current_trace_id()
    }
    let spans = spans_of(outer());
    let span = one(&spans, "panics_sync");
    assert_eq!(span.status, Status::error("inventory exploded"));
    assert_eq!(span.events.events[0].name, "exception");
    assert_child_of(span, one(&spans, "outer"));
}

#[trace]
async fn panics_async(code: u32) {
    tokio::task::yield_now().await;
    panic!("payment failed: {code}");
}

#[tokio::test]
async fn an_async_panic_in_a_task_ends_the_span_and_surfaces_as_join_error() {
    setup();
    #[trace]
    async fn outer() -> TraceId {
        let joined = spanflow::spawn(panics_async(402)).await;
        assert!(joined.expect_err("task panicked").is_panic());
        current_trace_id()
    }
    let before = Context::current().span().span_context().clone();
    let trace = outer().await;
    assert_eq!(Context::current().span().span_context(), &before);
    let spans = spans_of(trace);
    let span = one(&spans, "panics_async");
    assert_eq!(span.status, Status::error("payment failed: 402"));
    assert_child_of(span, one(&spans, "outer"));
}

#[test]
fn an_async_panic_under_catch_unwind_restores_the_thread_context() {
    setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let before = Context::current().span().span_context().clone();
    let caught = catch_unwind(AssertUnwindSafe(|| runtime.block_on(panics_async(1))));
    assert!(caught.is_err());
    assert_eq!(Context::current().span().span_context(), &before);
}

#[derive(Debug)]
struct Invalid;

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid")
    }
}

fn parse(input: &str) -> Result<u8, Invalid> {
    input.parse().map_err(|_| Invalid)
}

#[trace(err)]
fn early(input: &str, trace: &mut TraceId) -> Result<u8, Invalid> {
    *trace = current_trace_id();
    if input.is_empty() {
        return Ok(0);
    }
    let value = parse(input)?;
    Ok(value + 1)
}

#[trace(err)]
async fn early_async(input: &str, trace: &mut TraceId) -> Result<u8, Invalid> {
    *trace = current_trace_id();
    if input.is_empty() {
        return Ok(0);
    }
    tokio::task::yield_now().await;
    let value = parse(input)?;
    Ok(value + 1)
}

#[tokio::test]
async fn early_return_and_question_mark_end_the_span_once() {
    setup();
    let mut trace = TraceId::INVALID;
    for (input, expected) in [("", Some(0)), ("4", Some(5)), ("x", None)] {
        assert_eq!(early(input, &mut trace).ok(), expected);
        let spans = spans_of(trace);
        assert_eq!(spans.len(), 1);
        assert_eq!(
            spans[0].status == Status::error("invalid"),
            expected.is_none()
        );

        assert_eq!(early_async(input, &mut trace).await.ok(), expected);
        let spans = spans_of(trace);
        assert_eq!(spans.len(), 1);
        assert_eq!(
            spans[0].status == Status::error("invalid"),
            expected.is_none()
        );
    }
}

#[tokio::test]
async fn an_aborted_task_ends_its_span_cancelled() {
    setup();
    #[trace]
    async fn outer() -> TraceId {
        let handle = spanflow::spawn(never_finishes());
        tokio::task::yield_now().await;
        handle.abort();
        assert!(handle.await.expect_err("aborted").is_cancelled());
        current_trace_id()
    }
    let spans = spans_of(outer().await);
    let span = one(&spans, "never_finishes");
    assert_eq!(
        attribute(span, "spanflow.cancelled"),
        Some(&Value::Bool(true))
    );
    assert_child_of(span, one(&spans, "outer"));
}
