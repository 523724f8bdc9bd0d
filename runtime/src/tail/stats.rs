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
