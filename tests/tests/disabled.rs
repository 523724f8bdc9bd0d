//! With nothing installed, `#[trace]` changes nothing: same values, same
//! context, same panics.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use spanflow::trace;

#[trace(err, ret, fields(value = unreachable_if_evaluated()))]
fn compute(x: u32) -> Result<u32, String> {
    assert!(!Context::current().span().span_context().is_valid());
    Ok(x + 1)
}

fn unreachable_if_evaluated() -> u32 {
    panic!("fields must not be evaluated when nothing records")
}

#[trace]
async fn compute_async(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x * 2
}

#[trace]
fn panics() {
    panic!("boom");
}

#[tokio::test]
async fn nothing_installed_means_no_spans_and_no_changes() {
    assert_eq!(compute(1), Ok(2));
    assert_eq!(compute_async(2).await, 4);
    assert_eq!(spanflow::spawn(compute_async(3)).await.unwrap(), 6);
    let caught = std::panic::catch_unwind(panics).expect_err("still panics");
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(
        Context::current().span().span_context(),
        &SpanContext::empty_context()
    );
    let span = spanflow::span!("manual");
    assert!(!span.is_recording());
}
