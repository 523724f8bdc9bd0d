//! The tail sampler's counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) traces_kept: AtomicU64,
    pub(crate) traces_dropped: AtomicU64,
    pub(crate) spans_kept: AtomicU64,
    pub(crate) spans_dropped: AtomicU64,
    pub(crate) traces_evicted: AtomicU64,
    pub(crate) late_spans_kept: AtomicU64,
    pub(crate) late_spans_dropped: AtomicU64,
    pub(crate) buffered_traces: AtomicU64,
    pub(crate) buffered_spans: AtomicU64,
}

impl Counters {
    pub(crate) fn record(&self, keep: bool, spans: usize) {
        let (traces, counted) = if keep {
            (&self.traces_kept, &self.spans_kept)
        } else {
            (&self.traces_dropped, &self.spans_dropped)
        };
        traces.fetch_add(1, Ordering::Relaxed);
        counted.fetch_add(spans as u64, Ordering::Relaxed);
    }
}

/// A handle on a [`TailSampler`](super::TailSampler)'s counters.
#[derive(Clone, Debug)]
pub struct TailStatsHandle(pub(crate) Arc<Counters>);

impl TailStatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> TailStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counters = &self.0;
        TailStats {
            traces_kept: read(&counters.traces_kept),
            traces_dropped: read(&counters.traces_dropped),
            spans_kept: read(&counters.spans_kept),
            spans_dropped: read(&counters.spans_dropped),
            traces_evicted: read(&counters.traces_evicted),
            late_spans_kept: read(&counters.late_spans_kept),
            late_spans_dropped: read(&counters.late_spans_dropped),
            buffered_traces: read(&counters.buffered_traces),
            buffered_spans: read(&counters.buffered_spans),
        }
    }
}

/// What a tail sampler has decided so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailStats {
    /// Traces kept and forwarded.
    pub traces_kept: u64,
    /// Traces dropped by the policy, or undecided when evicted with
    /// [`WhenFull::Drop`](super::WhenFull::Drop).
    pub traces_dropped: u64,
    /// Spans of kept traces, late ones not included.
    pub spans_kept: u64,
    /// Spans of dropped traces, late ones not included.
    pub spans_dropped: u64,
    /// Traces decided early or dropped because the buffer was full (also
    /// counted as kept or dropped).
    pub traces_evicted: u64,
    /// Spans that arrived after their trace was kept, forwarded.
    pub late_spans_kept: u64,
    /// Spans that arrived after their trace was dropped.
    pub late_spans_dropped: u64,
    /// Traces buffered now, undecided.
    pub buffered_traces: u64,
    /// Spans buffered now.
    pub buffered_spans: u64,
}

/// Publishes the counters as OpenTelemetry metrics through the global
/// meter provider installed at the time (nothing when there is none):
/// `spanflow.tail_sampling.traces` and `.spans` by `decision` (kept,
/// dropped), `.late_spans` by `decision`, `.traces_evicted`, and the gauges
/// `.buffered_traces` and `.buffered_spans`.
pub(crate) fn register_metrics(counters: &Arc<Counters>) {
    use opentelemetry::KeyValue;

    let meter = opentelemetry::global::meter("spanflow");
    let kept = [KeyValue::new("decision", "kept")];
    let dropped = [KeyValue::new("decision", "dropped")];
    let by_decision = |name: &'static str,
                       description: &'static str,
                       unit: &'static str,
                       pick: fn(&Counters) -> (&AtomicU64, &AtomicU64)| {
        let counters = Arc::clone(counters);
        let (kept, dropped) = (kept.clone(), dropped.clone());
        meter
            .u64_observable_counter(name)
            .with_description(description)
            .with_unit(unit)
            .with_callback(move |observer| {
                let (kept_count, dropped_count) = pick(&counters);
                observer.observe(kept_count.load(Ordering::Relaxed), &kept);
                observer.observe(dropped_count.load(Ordering::Relaxed), &dropped);
            })
            .build();
    };
    by_decision(
        "spanflow.tail_sampling.traces",
        "Traces decided by the tail sampler",
        "{trace}",
        |c| (&c.traces_kept, &c.traces_dropped),
    );
    by_decision(
        "spanflow.tail_sampling.spans",
        "Spans of traces decided by the tail sampler",
        "{span}",
        |c| (&c.spans_kept, &c.spans_dropped),
    );
    by_decision(
        "spanflow.tail_sampling.late_spans",
        "Spans that arrived after their trace was decided",
        "{span}",
        |c| (&c.late_spans_kept, &c.late_spans_dropped),
    );
    let single = |name: &'static str,
                  description: &'static str,
                  unit: &'static str,
                  pick: fn(&Counters) -> &AtomicU64,
                  gauge: bool| {
        let counters = Arc::clone(counters);
        let callback = move |observer: &dyn opentelemetry::metrics::AsyncInstrument<u64>| {
            observer.observe(pick(&counters).load(Ordering::Relaxed), &[]);
        };
        if gauge {
            meter
                .u64_observable_gauge(name)
                .with_description(description)
                .with_unit(unit)
                .with_callback(callback)
                .build();
        } else {
            meter
                .u64_observable_counter(name)
                .with_description(description)
                .with_unit(unit)
                .with_callback(callback)
                .build();
        }
    };
    single(
        "spanflow.tail_sampling.traces_evicted",
        "Traces decided early or dropped because the buffer was full",
        "{trace}",
        |c| &c.traces_evicted,
        false,
    );
    single(
        "spanflow.tail_sampling.buffered_traces",
        "Traces buffered, undecided",
        "{trace}",
        |c| &c.buffered_traces,
        true,
    );
    single(
        "spanflow.tail_sampling.buffered_spans",
        "Spans buffered",
        "{span}",
        |c| &c.buffered_spans,
        true,
    );
}
