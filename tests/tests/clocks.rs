//! Busy, idle and queued time of traced futures.

mod common;

use std::time::{Duration, Instant};

use common::*;
use opentelemetry::trace::TraceId;
use spanflow::trace;

fn burn(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
    }
}

#[trace]
async fn bursts() -> TraceId {
    burn(Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(50)).await;
    burn(Duration::from_millis(10));
    current_trace_id()
}

#[tokio::test]
async fn busy_and_idle_are_measured_around_a_sleep() {
    setup();
    let spans = spans_of(bursts().await);
    let span = one(&spans, "bursts");
    let busy = int_attribute(span, "spanflow.busy_ns");
    let idle = int_attribute(span, "spanflow.idle_ns");
    let polls = int_attribute(span, "spanflow.polls");
    let wall = span
        .end_time
        .duration_since(span.start_time)
        .expect("ends after it starts")
        .as_nanos() as i64;
    // CPU bursts count as busy, the sleep as idle; neither can pass by
    // counting the other (20 ms busy + 50 ms idle > each alone).
    assert!(busy >= 20_000_000, "busy {busy} ns");
    assert!(idle >= 50_000_000, "idle {idle} ns");
    assert!(busy < 50_000_000, "the sleep counted as busy: {busy} ns");
    let queued = int_attribute(span, "spanflow.queued_ns");
    // The clocks start with the span and end with it: the three parts add
    // up to its duration (up to rounding ticks to nanoseconds).
    assert!(
        (queued + busy + idle - wall).abs() <= 1_000,
        "queued {queued} + busy {busy} + idle {idle} != wall {wall}"
    );
    assert!(polls >= 2, "polls {polls}");
}

#[trace]
async fn queued_task() -> TraceId {
    current_trace_id()
}

#[test]
fn queued_time_counts_from_spawn_to_first_poll() {
    setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let trace = runtime.block_on(async {
        let handle = spanflow::spawn(queued_task());
        // The single worker is busy for 30 ms before the task can start.
        burn(Duration::from_millis(30));
        handle.await.expect("task")
    });
    let spans = spans_of(trace);
    let queued = int_attribute(one(&spans, "queued_task"), "spanflow.queued_ns");
    assert!(queued >= 30_000_000, "queued {queued} ns");
}

#[trace]
fn blocking_work() -> TraceId {
    current_trace_id()
}

#[tokio::test]
async fn spawn_blocking_records_queued_time_on_the_first_span() {
    setup();
    let trace = spanflow::spawn_blocking(blocking_work).await.expect("task");
    let spans = spans_of(trace);
    let queued = int_attribute(one(&spans, "blocking_work"), "spanflow.queued_ns");
    assert!(queued > 0);
}

#[trace]
async fn polled_twice() -> TraceId {
    tokio::task::yield_now().await;
    current_trace_id()
}

#[trace]
fn plain() -> TraceId {
    current_trace_id()
}

/// Records are recycled boxes, and only the collector clears a future's
/// clocks from them: a sync span made in a box an async span used must not
/// report that span's busy time.
#[tokio::test]
async fn a_recycled_record_does_not_carry_an_earlier_spans_clocks() {
    setup();
    for _ in 0..64 {
        let spans = spans_of(polled_twice().await);
        int_attribute(one(&spans, "polled_twice"), "spanflow.busy_ns");
    }
    for _ in 0..64 {
        let spans = spans_of(plain());
        let span = one(&spans, "plain");
        assert_eq!(attribute(span, "spanflow.busy_ns"), None);
        assert_eq!(attribute(span, "spanflow.polls"), None);
    }
}
