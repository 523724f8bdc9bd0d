//! Shared pieces of the benchmarks: an exporter that discards, a future
//! that needs a given number of polls, and timing that drains export queues
//! outside the timed region; and [`least`], the least a span can do.

pub mod least;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Spans measured between two drains of the export queues; below every
/// queue's capacity, so no span is dropped while timed.
pub const SPANS_PER_DRAIN: u64 = 512;

/// A `SpanExporter` that drops every batch.
#[derive(Debug, Default)]
pub struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// Returns `Pending` (waking itself) `remaining` times, then `Ready`.
#[derive(Debug)]
pub struct Repoll {
    remaining: u32,
}

impl Repoll {
    /// A future needing `pending + 1` polls.
    pub fn new(pending: u32) -> Self {
        Repoll { remaining: pending }
    }
}

impl Future for Repoll {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.remaining == 0 {
            Poll::Ready(())
        } else {
            self.remaining -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `future` to completion with a no-op waker: no executor cost.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Times `iters` calls of `work`, calling `drain` (untimed) every
/// [`SPANS_PER_DRAIN`] / `spans_per_call` calls.
pub fn time_with_drains(
    iters: u64,
    spans_per_call: u64,
    mut work: impl FnMut(),
    drain: impl FnMut(),
) -> Duration {
    let calls_per_drain = (SPANS_PER_DRAIN / spans_per_call.max(1)).max(1);
    time_batches_with_drains(
        iters,
        calls_per_drain,
        |calls| {
            let start = Instant::now();
            for _ in 0..calls {
                work();
            }
            start.elapsed()
        },
        drain,
    )
}

/// Runs `iters` calls in batches of at most `batch` (`run_batch(n)` makes
/// `n` calls and returns how long they took: it may enter a runtime, which
/// is then outside the timing), calling `drain` untimed after each batch;
/// returns the summed time of the calls.
pub fn time_batches_with_drains(
    iters: u64,
    batch: u64,
    mut run_batch: impl FnMut(u64) -> Duration,
    mut drain: impl FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let calls = batch.max(1).min(iters - done);
        total += run_batch(calls);
        done += calls;
        drain();
    }
    total
}

/// The criterion settings every bench target uses: short, so that a full
/// run of all targets stays within a few minutes on two cores.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

/// Benchmarks `work` (which makes `spans_per_call` spans) with `drain`
/// called outside the timed region (see [`time_with_drains`]).
pub fn bench_drained(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    spans_per_call: u64,
    mut work: impl FnMut(),
    mut drain: impl FnMut(),
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| time_with_drains(iters, spans_per_call, &mut work, &mut drain))
    });
}

/// A span processor that drops every span.
#[derive(Debug)]
pub struct DiscardProcessor;

impl opentelemetry_sdk::trace::SpanProcessor for DiscardProcessor {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        drop(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// `traces` finished traces of `spans_per_trace` spans with three
/// attributes each, in the order spans end (children first, the root
/// last); trace ids follow from `next_trace`, which advances.
pub fn ended_traces(next_trace: &mut u128, traces: u64, spans_per_trace: u64) -> Vec<SpanData> {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    let scope = InstrumentationScope::builder("bench").build();
    let start = std::time::SystemTime::now();
    let mut spans = Vec::with_capacity((traces * spans_per_trace) as usize);
    for _ in 0..traces {
        *next_trace = next_trace
            .wrapping_mul(0x2545_f491_4f6c_dd1d)
            .wrapping_add(0x9e37_79b9);
        let trace = TraceId::from(*next_trace);
        for index in (1..=spans_per_trace).rev() {
            let parent = if index == 1 {
                SpanId::INVALID
            } else {
                SpanId::from(1)
            };
            spans.push(SpanData {
                span_context: SpanContext::new(
                    trace,
                    SpanId::from(index),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::NONE,
                ),
                parent_span_id: parent,
                parent_span_is_remote: false,
                span_kind: SpanKind::Internal,
                name: std::borrow::Cow::Borrowed("work"),
                start_time: start,
                end_time: start + Duration::from_millis(3),
                attributes: vec![
                    KeyValue::new("code.function.name", "work"),
                    KeyValue::new("spanflow.busy_ns", 1_000_i64),
                    KeyValue::new("items", 3_i64),
                ],
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Unset,
                instrumentation_scope: scope.clone(),
            });
        }
    }
    spans
}

/// A W3C `traceparent`, and the context it carries
/// ([`traceparent_context`]), for the propagation benchmarks.
pub const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The sampled remote context of [`TRACEPARENT`].
pub fn traceparent_context() -> opentelemetry::Context {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        SpanId::from(0xb7ad6b7169203331_u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    ))
}
