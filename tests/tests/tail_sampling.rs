//! The tail sampler as a span processor: each policy, compositions, the
//! straggler wait and late spans, the memory bound under a flood, and the
//! seed's policy set over 10,000 deterministic traces.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

mod faulty;

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SimpleSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use spanflow::tail::{
    AttributeMatch, LatencyOf, Policy, TailSampler, TailSamplerBuilder, WhenFull,
};

const T0: Duration = Duration::from_secs(1_700_000_000);

/// A finished span of `trace`: `parent` None makes it the local root.
fn span(trace: u128, id: u64, parent: Option<u64>, took: Duration) -> SpanData {
    let start = SystemTime::UNIX_EPOCH + T0;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(trace),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: parent.map_or(SpanId::INVALID, SpanId::from),
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed("work"),
        start_time: start,
        end_time: start + took,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("test").build(),
    }
}

/// A trace of `children` + 1 spans, children first, root last.
fn trace_of(trace: u128, children: u64, root_took: Duration) -> Vec<SpanData> {
    let mut spans: Vec<SpanData> = (1..=children)
        .map(|child| span(trace, child + 1, Some(1), Duration::from_millis(1)))
        .collect();
    spans.push(span(trace, 1, None, root_took));
    spans
}

struct Harness {
    sampler: TailSampler,
    exporter: InMemorySpanExporter,
}

impl Harness {
    fn new(policy: Policy) -> Harness {
        Harness::with(policy, |builder| builder)
    }

    fn with(
        policy: Policy,
        configure: impl FnOnce(TailSamplerBuilder) -> TailSamplerBuilder,
    ) -> Harness {
        let exporter = InMemorySpanExporter::default();
        let builder = TailSampler::builder(policy).with_straggler_wait(Duration::ZERO);
        Harness {
            sampler: configure(builder).build(SimpleSpanProcessor::new(exporter.clone())),
            exporter,
        }
    }

    fn feed(&self, spans: Vec<SpanData>) {
        for span in spans {
            self.sampler.on_end(span);
        }
    }

    /// The trace ids exported so far, and how many spans.
    fn kept(&self) -> (HashSet<TraceId>, usize) {
        self.sampler.force_flush().unwrap();
        let spans = self.exporter.get_finished_spans().unwrap();
        let traces = spans.iter().map(|s| s.span_context.trace_id()).collect();
        (traces, spans.len())
    }

    fn kept_traces(&self) -> Vec<u128> {
        let mut ids: Vec<u128> = self
            .kept()
            .0
            .into_iter()
            .map(|id| u128::from_be_bytes(id.to_bytes()))
            .collect();
        ids.sort_unstable();
        ids
    }
}

fn failed(mut spans: Vec<SpanData>) -> Vec<SpanData> {
    spans[0].status = Status::error("boom");
    spans
}

fn event(mut spans: Vec<SpanData>, name: &'static str, attributes: Vec<KeyValue>) -> Vec<SpanData> {
    spans[0]
        .events
        .events
        .push(Event::new(name, SystemTime::now(), attributes, 0));
    spans
}

fn attribute(mut spans: Vec<SpanData>, kv: KeyValue) -> Vec<SpanData> {
    spans[0].attributes.push(kv);
    spans
}

const FAST: Duration = Duration::from_millis(10);

#[test]
fn errors_keep_failed_and_excepted_traces_whole() {
    let harness = Harness::new(Policy::errors());
    harness.feed(trace_of(1, 3, FAST));
    harness.feed(failed(trace_of(2, 3, FAST)));
    harness.feed(event(trace_of(3, 3, FAST), "exception", vec![]));
    assert_eq!(harness.kept_traces(), [2, 3]);
    assert_eq!(harness.kept().1, 8, "whole traces");
    let stats = harness.sampler.stats().snapshot();
    assert_eq!((stats.traces_kept, stats.traces_dropped), (2, 1));
    assert_eq!((stats.spans_kept, stats.spans_dropped), (8, 4));
}

#[test]
fn warnings_come_from_log_level_events_or_an_attribute() {
    let harness = Harness::new(Policy::warnings_or_attribute("degraded", true));
    harness.feed(event(
        trace_of(1, 2, FAST),
        "log",
        vec![KeyValue::new("level", "WARN")],
    ));
    harness.feed(event(
        trace_of(2, 2, FAST),
        "log",
        vec![KeyValue::new("severity_text", "warning")],
    ));
    harness.feed(event(
        trace_of(3, 2, FAST),
        "log",
        vec![KeyValue::new("level", "INFO")],
    ));
    harness.feed(attribute(
        trace_of(4, 2, FAST),
        KeyValue::new("degraded", true),
    ));
    harness.feed(attribute(
        trace_of(5, 2, FAST),
        KeyValue::new("degraded", false),
    ));
    assert_eq!(harness.kept_traces(), [1, 2, 4]);
}

#[test]
fn latency_measures_the_root_or_the_whole_trace() {
    let root = Harness::new(Policy::latency_over(Duration::from_secs(1)));
    root.feed(trace_of(1, 2, Duration::from_millis(1_500)));
    root.feed(trace_of(2, 2, Duration::from_millis(900)));
    assert_eq!(root.kept_traces(), [1]);

    let whole = Harness::new(Policy::latency(Duration::from_millis(5), LatencyOf::Trace));
    let mut spans = trace_of(3, 1, Duration::from_millis(2));
    // A child that outlives its root: the trace is longer than the root.
    spans[0].end_time = spans[0].start_time + Duration::from_millis(8);
    whole.feed(spans);
    whole.feed(trace_of(4, 1, Duration::from_millis(2)));
    assert_eq!(whole.kept_traces(), [3]);
}

#[test]
fn span_count_attribute_and_invert() {
    let count = Harness::new(Policy::span_count(3, 4));
    count.feed(trace_of(1, 1, FAST));
    count.feed(trace_of(2, 2, FAST));
    count.feed(trace_of(3, 3, FAST));
    count.feed(trace_of(4, 4, FAST));
    assert_eq!(count.kept_traces(), [2, 3]);

    let route = || {
        Policy::attribute(
            "http.route",
            AttributeMatch::Strings(vec!["/checkout".into(), "/pay".into()]),
        )
    };
    let strings = Harness::new(route());
    strings.feed(attribute(
        trace_of(1, 1, FAST),
        KeyValue::new("http.route", "/checkout"),
    ));
    strings.feed(attribute(
        trace_of(2, 1, FAST),
        KeyValue::new("http.route", "/health"),
    ));
    strings.feed(trace_of(3, 1, FAST));
    assert_eq!(strings.kept_traces(), [1]);

    let inverted = Harness::new(route().invert());
    inverted.feed(attribute(
        trace_of(1, 1, FAST),
        KeyValue::new("http.route", "/checkout"),
    ));
    inverted.feed(attribute(
        trace_of(2, 1, FAST),
        KeyValue::new("http.route", "/health"),
    ));
    assert_eq!(inverted.kept_traces(), [2]);

    let status = Harness::new(Policy::attribute(
        "http.response.status_code",
        AttributeMatch::IntRange(500, 599),
    ));
    status.feed(attribute(
        trace_of(1, 1, FAST),
        KeyValue::new("http.response.status_code", 503),
    ));
    status.feed(attribute(
        trace_of(2, 1, FAST),
        KeyValue::new("http.response.status_code", 200),
    ));
    assert_eq!(status.kept_traces(), [1]);

    let float = Harness::new(Policy::attribute(
        "load",
        AttributeMatch::FloatRange(0.9, 1.0),
    ));
    float.feed(attribute(trace_of(1, 1, FAST), KeyValue::new("load", 0.95)));
    float.feed(attribute(trace_of(2, 1, FAST), KeyValue::new("load", 0.5)));
    assert_eq!(float.kept_traces(), [1]);

    let flag = Harness::new(Policy::attribute("retry", AttributeMatch::Bool(true)));
    flag.feed(attribute(
        trace_of(1, 1, FAST),
        KeyValue::new("retry", true),
    ));
    flag.feed(attribute(
        trace_of(2, 1, FAST),
        KeyValue::new("retry", "true"),
    ));
    assert_eq!(flag.kept_traces(), [1]);
}

#[test]
fn probability_is_consistent_with_the_head_rule() {
    let harness = Harness::new(Policy::probability(0.5));
    // Kept when the trace id's low 56 bits are at least 2^55.
    let kept = 0x0000_0000_0000_0000_0080_0000_0000_0000_u128;
    let dropped = 0x0000_0000_0000_0000_007f_ffff_ffff_ffff_u128;
    harness.feed(trace_of(kept, 1, FAST));
    harness.feed(trace_of(dropped, 1, FAST));
    assert_eq!(harness.kept_traces(), [kept]);
}

#[test]
fn rate_limit_and_compositions() {
    // 20 spans per second: two traces of 10 spans, then the bucket is empty.
    let limited = Harness::new(Policy::rate_limit(20));
    for trace in 1..=4 {
        limited.feed(trace_of(trace, 9, FAST));
    }
    assert_eq!(limited.kept_traces(), [1, 2]);

    let both = Harness::new(Policy::all_of([
        Policy::errors(),
        Policy::latency_over(Duration::from_secs(1)),
    ]));
    both.feed(failed(trace_of(1, 1, Duration::from_secs(2))));
    both.feed(failed(trace_of(2, 1, FAST)));
    both.feed(trace_of(3, 1, Duration::from_secs(2)));
    assert_eq!(both.kept_traces(), [1]);

    // First match: errors are kept before the rate limit is charged.
    let first = Harness::new(Policy::any_of([Policy::errors(), Policy::rate_limit(2)]));
    first.feed(trace_of(1, 1, FAST)); // 2 spans: the whole budget
    first.feed(failed(trace_of(2, 1, FAST)));
    first.feed(trace_of(3, 1, FAST)); // no budget left
    assert_eq!(first.kept_traces(), [1, 2]);

    // Each policy with its own budget: 4 spans/s for errors, 2 for the rest.
    let budgets = Harness::new(Policy::budgeted([
        (Policy::errors(), 4),
        (Policy::probability(1.0), 2),
    ]));
    budgets.feed(failed(trace_of(1, 1, FAST)));
    budgets.feed(failed(trace_of(2, 1, FAST)));
    budgets.feed(failed(trace_of(3, 1, FAST))); // errors' budget spent; falls to the rest's
    budgets.feed(trace_of(4, 1, FAST)); // the rest's budget spent
    assert_eq!(budgets.kept_traces(), [1, 2, 3]);
}

#[test]
fn stragglers_join_their_trace_and_late_spans_follow_the_decision() {
    // Endless, so that only the flush decides (too long for the clock:
    // no limit).
    let harness = Harness::with(Policy::errors(), |builder| {
        builder.with_straggler_wait(Duration::MAX)
    });
    let mut spans = trace_of(1, 1, FAST);
    let root = spans.pop().unwrap();
    harness.sampler.on_end(root);
    // Ends after the root, within the wait, and fails: the trace is kept.
    harness.feed(failed(spans));
    assert_eq!(harness.kept_traces(), [1], "flush decides ended roots");
    assert_eq!(harness.kept().1, 2);

    // Late spans of decided traces follow their trace's decision.
    harness.sampler.on_end(span(1, 9, Some(1), FAST));
    harness.feed(trace_of(2, 1, FAST));
    harness.sampler.force_flush().unwrap();
    harness.sampler.on_end(span(2, 9, Some(1), FAST));
    let stats = harness.sampler.stats().snapshot();
    assert_eq!((stats.late_spans_kept, stats.late_spans_dropped), (1, 1));
    assert_eq!(
        harness.kept().1,
        3,
        "the late span of the kept trace went on"
    );
}

#[test]
fn a_trace_without_its_root_is_decided_at_its_deadline_and_on_shutdown() {
    let harness = Harness::with(Policy::errors(), |builder| {
        builder.with_deadline(Duration::ZERO)
    });
    harness.feed(failed(vec![span(1, 2, Some(1), FAST)]));
    assert_eq!(
        harness.kept_traces(),
        [1],
        "decided at once: the deadline is zero"
    );

    let open = Harness::new(Policy::errors());
    open.feed(failed(vec![span(2, 2, Some(1), FAST)]));
    assert!(open.kept_traces().is_empty(), "waits for its root");
    open.sampler.shutdown().unwrap();
    // (The in-memory exporter forgets its spans when shut down.)
    let stats = open.sampler.stats().snapshot();
    assert_eq!(
        (stats.traces_kept, stats.spans_kept),
        (1, 1),
        "decided at shutdown"
    );
}

#[test]
fn memory_stays_bounded_under_a_flood_of_a_million_spans() {
    const TRACES: u128 = 100_000;
    const SPANS_PER_TRACE: u64 = 10;
    for when_full in [WhenFull::DecideEarly, WhenFull::Drop] {
        let harness = Harness::with(Policy::errors(), |builder| {
            builder
                .with_max_traces(1_000)
                .with_max_spans(5_000)
                .with_decision_cache(10_000)
                .when_full(when_full)
        });
        let stats = harness.sampler.stats();
        let (mut most_traces, mut most_spans) = (0, 0);
        // Interleaved: 50 traces open at a time, none of their roots ends
        // until all its spans are in, every 10th trace fails.
        for batch in 0..TRACES / 50 {
            for step in 0..SPANS_PER_TRACE {
                for offset in 0..50 {
                    let trace = batch * 50 + offset + 1;
                    let mut data = if step + 1 == SPANS_PER_TRACE {
                        span(trace, 1, None, FAST)
                    } else {
                        span(trace, step + 2, Some(1), FAST)
                    };
                    if trace % 10 == 0 && step == 0 {
                        data.status = Status::error("boom");
                    }
                    harness.sampler.on_end(data);
                    let now = stats.snapshot();
                    most_traces = most_traces.max(now.buffered_traces);
                    most_spans = most_spans.max(now.buffered_spans);
                }
            }
        }
        let end = stats.snapshot();
        assert!(most_traces <= 1_000, "{when_full:?}: {most_traces} traces");
        assert!(most_spans <= 5_000, "{when_full:?}: {most_spans} spans");
        assert_eq!(end.traces_kept + end.traces_dropped, TRACES as u64);
        assert_eq!(
            end.traces_kept,
            TRACES as u64 / 10,
            "{when_full:?}: every failed trace"
        );
        assert_eq!(end.spans_kept, TRACES as u64, "whole failed traces");
        assert_eq!(harness.kept().1, TRACES as usize);
    }
}

/// splitmix64: deterministic, well-spread trace ids.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn the_seed_policy_keeps_every_error_warning_and_slow_trace_and_a_tenth_of_a_percent() {
    let harness = Harness::new(Policy::any_of([
        Policy::errors(),
        Policy::warnings(),
        Policy::latency_over(Duration::from_secs(1)),
        Policy::probability(0.001),
    ]));
    let threshold = 0xffbe77_u64 << 32; // the specification's th for 0.001
    let mut seed = 42;
    let mut must_keep = Vec::new();
    let mut expected_rest = Vec::new();
    for index in 0..10_000u64 {
        let trace = (u128::from(splitmix(&mut seed)) << 64) | u128::from(splitmix(&mut seed));
        let mut spans = trace_of(trace, 4, FAST);
        match index % 50 {
            7 => spans = failed(spans),
            19 => spans = event(spans, "log", vec![KeyValue::new("level", "WARN")]),
            33 => spans.last_mut().unwrap().end_time += Duration::from_millis(1_200),
            _ => {
                if (trace as u64 & ((1 << 56) - 1)) >= threshold {
                    expected_rest.push(trace);
                }
                harness.feed(spans);
                continue;
            }
        }
        must_keep.push(trace);
        harness.feed(spans);
    }
    let kept: HashSet<u128> = harness.kept_traces().into_iter().collect();
    assert_eq!(must_keep.len(), 600);
    assert!(
        must_keep.iter().all(|trace| kept.contains(trace)),
        "every error, warning, slow trace"
    );
    let rest = kept.len() - must_keep.len();
    assert_eq!(
        rest,
        expected_rest.len(),
        "the formula's count of the 9,400 others"
    );
    assert!(rest <= 30, "about 9.4 expected: {rest}");
}

/// A next processor with a bounded queue, like the SDK's batch processor:
/// spans beyond `capacity` are dropped until a flush empties it.
#[derive(Debug, Default)]
struct BoundedQueue {
    capacity: usize,
    counts: std::sync::Mutex<(usize, usize, usize)>, // queued, delivered, dropped
}

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, _span: SpanData) {
        let mut counts = self.counts.lock().unwrap();
        if counts.0 < self.capacity {
            counts.0 += 1;
        } else {
            counts.2 += 1;
        }
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        let mut counts = self.counts.lock().unwrap();
        counts.1 += std::mem::take(&mut counts.0);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.force_flush()
    }
}

/// 5,000 two-span traces, all kept, ended into a sampler whose next
/// processor holds 2,048 spans until flushed.
fn burst_into_a_bounded_queue(
    straggler_wait: Duration,
) -> (std::sync::Arc<BoundedQueue>, TailSampler) {
    let queue = std::sync::Arc::new(BoundedQueue {
        capacity: 2048,
        ..BoundedQueue::default()
    });
    let sampler = TailSampler::builder(Policy::probability(1.0))
        .with_straggler_wait(straggler_wait)
        .build(spanflow_shared(&queue));
    for trace in 1..=5_000 {
        for span in trace_of(trace, 1, FAST) {
            sampler.on_end(span);
        }
    }
    (queue, sampler)
}

#[test]
fn a_flush_hands_on_more_than_the_next_queue_holds_without_losing_any() {
    let (queue, sampler) = burst_into_a_bounded_queue(Duration::from_secs(3600));
    assert_eq!(
        *queue.counts.lock().unwrap(),
        (0, 0, 0),
        "all still waiting"
    );
    sampler.force_flush().unwrap();
    assert_eq!(
        *queue.counts.lock().unwrap(),
        (0, 10_000, 0),
        "10,000 kept spans through a 2,048-span queue"
    );
}

#[test]
fn a_tick_after_a_burst_hands_on_more_than_the_next_queue_holds_without_losing_any() {
    // A wait the burst itself never outlasts, even on a loaded machine: a
    // span arriving after the first traces are due decides them at once,
    // a few at a time and unflushed, which this queue (unlike the SDK's,
    // which drains itself) would drop. With 50 ms a loaded run dropped 6,242.
    let (queue, _sampler) = burst_into_a_bounded_queue(Duration::from_millis(500));
    // No flush: the ticker decides the burst once its straggler wait is
    // over. Bounded wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let counts = loop {
        let counts = *queue.counts.lock().unwrap();
        if counts.0 + counts.1 + counts.2 >= 10_000 || std::time::Instant::now() > deadline {
            break counts;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(counts.2, 0, "dropped by the next queue: {counts:?}");
    assert_eq!(counts.0 + counts.1, 10_000, "{counts:?}");
}

/// The queue, shared between the sampler and the test.
fn spanflow_shared(queue: &std::sync::Arc<BoundedQueue>) -> impl SpanProcessor + use<> {
    #[derive(Debug)]
    struct Shared(std::sync::Arc<BoundedQueue>);
    impl SpanProcessor for Shared {
        fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
            self.0.on_start(span, cx);
        }
        fn on_end(&self, span: SpanData) {
            self.0.on_end(span);
        }
        fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.force_flush()
        }
        fn shutdown_with_timeout(
            &self,
            timeout: Duration,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.shutdown_with_timeout(timeout)
        }
    }
    Shared(std::sync::Arc::clone(queue))
}

/// Waits (at most 10 s) until `done` holds; the behaviour under test is
/// the sampler's own timer, so there is no flush to wait on instead.
fn within_seconds(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn the_ticker_goes_on_deciding_after_the_next_processor_panics() {
    let next = faulty::PanicsOnce::default();
    let sampler = TailSampler::builder(Policy::probability(1.0))
        .with_straggler_wait(Duration::from_millis(20))
        .build(next.clone());

    sampler.on_end(span(1, 1, None, Duration::from_millis(1)));
    assert!(
        within_seconds(|| next.panicked()),
        "the ticker handed trace 1 on (and the processor panicked)"
    );
    // No span arrives after this one: only the ticker can decide it.
    sampler.on_end(span(2, 1, None, Duration::from_millis(1)));
    assert!(
        within_seconds(|| next.trace_ids() == [TraceId::from(2)]),
        "trace 2 handed on by the ticker: {:?}",
        next.trace_ids()
    );
}
