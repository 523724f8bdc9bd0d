//! Tail sampling: decide on whole traces after they end, within bounded
//! memory.
//!
//! [`TailSampler`] is a span processor placed in front of the processor
//! that exports (a batch processor, say). It buffers each trace's spans
//! until the trace's local root span ends, waits a little longer for
//! stragglers (spans of detached tasks that end after the root), or until
//! the trace's deadline passes, then asks its [`Policy`] and forwards a kept
//! trace whole to the next processor. Spans that arrive after their trace
//! was decided follow the decision, through a bounded cache of decisions.
//!
//! Memory is bounded by configuration: at most `max_traces` traces and
//! `max_spans` spans are buffered; when either is reached, the oldest
//! traces are decided early on what they hold (or dropped, by option), and
//! counted. [`TailStats`] has every counter; they are also published as
//! OpenTelemetry metrics (`spanflow.tail_sampling.*`) through the global
//! meter provider installed when the sampler is built.
//!
//! In-process tail sampling sees the spans of this process only: a trace
//! that crosses services is decided by each service on its own part (a
//! slow downstream call shows as a slow CLIENT span here, an error deep in
//! another service only if it came back as an error). To decide on whole
//! distributed traces, sample in an OpenTelemetry Collector behind a
//! trace-id-aware load balancer (`examples/collector/`), and keep
//! in-process sampling for the cost of export from each service.
//!
//! ```
//! use std::time::Duration;
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
//! use spanflow::tail::{Policy, TailSampler};
//!
//! let exporter = InMemorySpanExporter::default();
//! let sampler = TailSampler::builder(Policy::any_of([
//!     Policy::errors(),
//!     Policy::warnings(),
//!     Policy::latency_over(Duration::from_secs(1)),
//!     Policy::probability(0.001),
//! ]))
//! .build(SimpleSpanProcessor::new(exporter.clone()));
//! let stats = sampler.stats();
//! let _tracing = spanflow::Pipeline::new().with_span_processor(sampler).install();
//! # let _ = stats.snapshot();
//! ```

mod fan_out;
mod policy;
mod stats;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanProcessor};

pub use policy::{AttributeMatch, LatencyOf, Policy, TraceView};
pub use stats::{TailStats, TailStatsHandle};

pub(crate) use fan_out::FanOut;
use stats::Counters;

use crate::timeout::NO_LIMIT;

/// Spans a flush hands on before flushing the next processor (half the
/// SDK's default batch queue).
const FLUSH_CHUNK: usize = 1024;

/// What happens to the oldest buffered trace when the buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// Decide it now on the spans it has (the default): an error already
    /// seen still keeps it.
    #[default]
    DecideEarly,
    /// Drop it undecided (cheaper; its late spans are dropped too).
    Drop,
}

/// Settings of a [`TailSampler`]; see [`TailSampler::builder`].
#[derive(Debug)]
pub struct TailSamplerBuilder {
    policy: Policy,
    straggler_wait: Duration,
    deadline: Duration,
    max_traces: usize,
    max_spans: usize,
    decision_cache: usize,
    when_full: WhenFull,
}

impl TailSamplerBuilder {
    /// How long after a local root span ends the trace stays open for
    /// spans that end later (default 250 ms). Zero decides at once; a wait
    /// too long for the clock leaves the decision to the trace deadline, a
    /// flush or the memory bound.
    pub fn with_straggler_wait(mut self, wait: Duration) -> Self {
        self.straggler_wait = wait.min(NO_LIMIT);
        self
    }

    /// How long a trace may stay buffered without its root ending before
    /// it is decided on what it has (default 30 s).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// At most this many traces buffered (default 20,000).
    pub fn with_max_traces(mut self, traces: usize) -> Self {
        self.max_traces = traces.max(1);
        self
    }

    /// At most this many spans buffered (default 100,000: about 60 MB with
    /// spans of a few attributes; see BENCHMARKS.md).
    pub fn with_max_spans(mut self, spans: usize) -> Self {
        self.max_spans = spans.max(1);
        self
    }

    /// How many decided traces are remembered for their late spans
    /// (default 100,000; about 40 bytes each).
    pub fn with_decision_cache(mut self, traces: usize) -> Self {
        self.decision_cache = traces;
        self
    }

    /// What to do with the oldest trace when the buffer is full.
    pub fn when_full(mut self, action: WhenFull) -> Self {
        self.when_full = action;
        self
    }

    /// The sampler, forwarding kept traces to `next`. A thread, started
    /// with the first span, decides traces whose wait or deadline passes
    /// while no spans arrive (it ends with the sampler).
    pub fn build(self, next: impl SpanProcessor + 'static) -> TailSampler {
        self.build_boxed(Box::new(next))
    }

    pub(crate) fn build_boxed(self, next: Box<dyn SpanProcessor>) -> TailSampler {
        let counters = Arc::new(Counters::default());
        stats::register_metrics(&counters);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                policy: self.policy,
                traces: HashMap::default(),
                arrival: VecDeque::new(),
                due: VecDeque::new(),
                decided: DecisionCache::new(self.decision_cache),
                buffered_spans: 0,
                next_seq: 0,
            }),
            next,
            ticker: std::sync::Once::new(),
            counters,
            straggler_wait: self.straggler_wait,
            deadline: self.deadline,
            max_traces: self.max_traces,
            max_spans: self.max_spans,
            when_full: self.when_full,
        });
        TailSampler { shared }
    }
}

/// A span processor that keeps or drops whole traces by [`Policy`], then
/// hands kept traces to the next processor. See the [module docs](self).
#[derive(Debug)]
pub struct TailSampler {
    shared: Arc<Shared>,
}

impl TailSampler {
    /// A sampler deciding by `policy`; [`TailSamplerBuilder::build`] names
    /// the processor kept traces go to.
    pub fn builder(policy: Policy) -> TailSamplerBuilder {
        TailSamplerBuilder {
            policy,
            straggler_wait: Duration::from_millis(250),
            deadline: Duration::from_secs(30),
            max_traces: 20_000,
            max_spans: 100_000,
            decision_cache: 100_000,
            when_full: WhenFull::DecideEarly,
        }
    }

    /// A handle on the counters, valid after the sampler moved into a
    /// pipeline.
    pub fn stats(&self) -> TailStatsHandle {
        TailStatsHandle(Arc::clone(&self.shared.counters))
    }
}

impl SpanProcessor for TailSampler {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        self.shared.next.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.shared.ticker.call_once(|| {
            start_ticker(Arc::downgrade(&self.shared), self.shared.straggler_wait);
        });
        let mut kept = Vec::new();
        {
            let mut state = self.shared.lock();
            self.shared.accept(&mut state, span, &mut kept);
            self.shared.publish_sizes(&state);
        }
        self.shared.forward(kept);
    }

    /// Decides every trace whose local root has ended (without waiting for
    /// stragglers), then flushes the next processor.
    fn force_flush(&self) -> OTelSdkResult {
        let mut kept = Vec::new();
        {
            let mut state = self.shared.lock();
            let ended: Vec<(TraceId, u64)> = state
                .traces
                .iter()
                .filter(|(_, trace)| trace.root_ended)
                .map(|(id, trace)| (*id, trace.seq))
                .collect();
            for (id, seq) in ended {
                self.shared.decide(&mut state, id, seq, &mut kept);
            }
            self.shared.publish_sizes(&state);
        }
        self.shared.forward_flushing(kept)?;
        self.shared.next.force_flush()
    }

    /// Decides every buffered trace on what it has, then shuts the next
    /// processor down.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let mut kept = Vec::new();
        {
            let mut state = self.shared.lock();
            let all: Vec<(TraceId, u64)> = state
                .traces
                .iter()
                .map(|(id, trace)| (*id, trace.seq))
                .collect();
            for (id, seq) in all {
                self.shared.decide(&mut state, id, seq, &mut kept);
            }
            self.shared.publish_sizes(&state);
        }
        // A failed flush on the way loses spans, not the shutdown.
        let _ = self.shared.forward_flushing(kept);
        self.shared.next.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Before the sampler is shared (pipelines set resources first, and
        // the ticker starts with the first span); once it is, the next
        // processor keeps its own.
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.next.set_resource(resource);
        }
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    next: Box<dyn SpanProcessor>,
    ticker: std::sync::Once,
    counters: Arc<Counters>,
    straggler_wait: Duration,
    deadline: Duration,
    max_traces: usize,
    max_spans: usize,
    when_full: WhenFull,
}

#[derive(Debug)]
struct State {
    policy: Policy,
    traces: HashMap<TraceId, Pending, BuildHasherDefault<TraceIdHasher>>,
    /// Traces in the order they were first seen: deadlines and eviction.
    arrival: VecDeque<(Instant, TraceId, u64)>,
    /// Traces whose local root ended, in the order their wait ends.
    due: VecDeque<(Instant, TraceId, u64)>,
    decided: DecisionCache,
    buffered_spans: usize,
    next_seq: u64,
}

#[derive(Debug)]
struct Pending {
    spans: Vec<SpanData>,
    /// Tells this buffering of the trace from an earlier one with the same
    /// id (queue entries are removed lazily).
    seq: u64,
    root_ended: bool,
    decide_at: Option<Instant>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a policy must not stop all tracing: the state stays
        // consistent between statements, so a poisoned lock is usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn accept(&self, state: &mut State, span: SpanData, kept: &mut Vec<SpanData>) {
        let now = Instant::now();
        let trace_id = span.span_context.trace_id();
        let is_local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;

        if !state.traces.contains_key(&trace_id) {
            if let Some(keep) = state.decided.get(trace_id) {
                if keep {
                    self.counters
                        .late_spans_kept
                        .fetch_add(1, Ordering::Relaxed);
                    kept.push(span);
                } else {
                    self.counters
                        .late_spans_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            self.make_room(state, 1, kept);
            let seq = state.next_seq;
            state.next_seq += 1;
            state.arrival.push_back((now, trace_id, seq));
            state.traces.insert(
                trace_id,
                Pending {
                    spans: Vec::with_capacity(8),
                    seq,
                    root_ended: false,
                    decide_at: None,
                },
            );
        } else if state.buffered_spans >= self.max_spans {
            self.make_room(state, 0, kept);
            if !state.traces.contains_key(&trace_id) {
                // Its own trace was the oldest and was decided just now.
                return self.accept(state, span, kept);
            }
        }

        let Some(trace) = state.traces.get_mut(&trace_id) else {
            return;
        };
        trace.spans.push(span);
        state.buffered_spans += 1;
        if is_local_root {
            trace.root_ended = true;
            if self.straggler_wait.is_zero() {
                let seq = trace.seq;
                self.decide(state, trace_id, seq, kept);
            } else {
                let at = now + self.straggler_wait;
                trace.decide_at = Some(at);
                let seq = trace.seq;
                state.due.push_back((at, trace_id, seq));
            }
        }
        self.decide_due(state, now, kept);
    }

    /// Decides the oldest traces until there is room for `new_traces` more
    /// traces and one more span.
    fn make_room(&self, state: &mut State, new_traces: usize, kept: &mut Vec<SpanData>) {
        while state.traces.len() + new_traces > self.max_traces
            || state.buffered_spans >= self.max_spans
        {
            let Some((_, id, seq)) = state.arrival.pop_front() else {
                return;
            };
            if state.traces.get(&id).is_none_or(|trace| trace.seq != seq) {
                continue;
            }
            self.counters.traces_evicted.fetch_add(1, Ordering::Relaxed);
            match self.when_full {
                WhenFull::DecideEarly => self.decide(state, id, seq, kept),
                WhenFull::Drop => {
                    if let Some(trace) = state.traces.remove(&id) {
                        state.buffered_spans -= trace.spans.len();
                        self.counters.record(false, trace.spans.len());
                        state.decided.insert(id, false);
                    }
                }
            }
        }
    }

    /// Decides traces whose straggler wait or deadline has passed.
    fn decide_due(&self, state: &mut State, now: Instant, kept: &mut Vec<SpanData>) {
        while let Some(&(at, id, seq)) = state.due.front() {
            if at > now {
                break;
            }
            state.due.pop_front();
            let current = state
                .traces
                .get(&id)
                .is_some_and(|trace| trace.seq == seq && trace.decide_at == Some(at));
            if current {
                self.decide(state, id, seq, kept);
            }
        }
        while let Some(&(first_seen, id, seq)) = state.arrival.front() {
            let live = state.traces.get(&id).is_some_and(|trace| trace.seq == seq);
            if live && now.saturating_duration_since(first_seen) < self.deadline {
                break;
            }
            state.arrival.pop_front();
            if live {
                self.decide(state, id, seq, kept);
            }
        }
    }

    fn decide(&self, state: &mut State, id: TraceId, seq: u64, kept: &mut Vec<SpanData>) {
        if state.traces.get(&id).is_none_or(|trace| trace.seq != seq) {
            return;
        }
        let Some(trace) = state.traces.remove(&id) else {
            return;
        };
        state.buffered_spans -= trace.spans.len();
        let keep = state
            .policy
            .keeps(&TraceView::new(&trace.spans), Instant::now());
        self.counters.record(keep, trace.spans.len());
        state.decided.insert(id, keep);
        if keep {
            kept.extend(trace.spans);
        }
    }

    fn publish_sizes(&self, state: &State) {
        let counters = &self.counters;
        counters
            .buffered_traces
            .store(state.traces.len() as u64, Ordering::Relaxed);
        counters
            .buffered_spans
            .store(state.buffered_spans as u64, Ordering::Relaxed);
    }

    /// Hands kept spans on, outside the lock (the next processor may block
    /// on its exporter).
    fn forward(&self, kept: Vec<SpanData>) {
        for span in kept {
            self.next.on_end(span);
        }
    }

    /// Hands on what a flush, a shutdown or a large tick decided, in chunks
    /// that the next processor's queue can hold (the SDK's default is 2,048
    /// spans), each flushed before the next: the whole buffer decided at
    /// once would overflow it, and the overflow is dropped.
    /// A flush that fails stops the chunking, not the hand-off: the rest
    /// still goes on (and is counted there if dropped).
    fn forward_flushing(&self, kept: Vec<SpanData>) -> OTelSdkResult {
        let mut outcome = Ok(());
        let mut kept = kept.into_iter().peekable();
        while kept.peek().is_some() {
            for span in kept.by_ref().take(FLUSH_CHUNK) {
                self.next.on_end(span);
            }
            if outcome.is_ok() && kept.peek().is_some() {
                outcome = self.next.force_flush();
            }
        }
        outcome
    }

    fn tick(&self) {
        let mut kept = Vec::new();
        {
            let mut state = self.lock();
            self.decide_due(&mut state, Instant::now(), &mut kept);
            self.publish_sizes(&state);
        }
        // A tick after a burst can release more than the next queue holds;
        // the ticker's own thread can wait for it to drain.
        if kept.len() > FLUSH_CHUNK {
            let _ = self.forward_flushing(kept);
        } else {
            self.forward(kept);
        }
    }
}

/// Decides traces whose wait or deadline passed while no spans arrived.
fn start_ticker(shared: Weak<Shared>, wait: Duration) {
    let period = wait.clamp(Duration::from_millis(10), Duration::from_millis(100));
    let spawned = std::thread::Builder::new()
        .name("spanflow-tail".into())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                match shared.upgrade() {
                    // A next processor that panics (an exporter bug) loses
                    // the traces it was given; the ticker goes on deciding.
                    Some(shared) => {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            shared.tick();
                        }));
                    }
                    None => return,
                }
            }
        });
    // Without the thread, decisions still happen as spans arrive and on
    // flush; nothing is lost.
    drop(spawned);
}

/// Decisions remembered for late spans, oldest forgotten first.
#[derive(Debug)]
struct DecisionCache {
    capacity: usize,
    decisions: HashMap<TraceId, bool, BuildHasherDefault<TraceIdHasher>>,
    order: VecDeque<TraceId>,
}

impl DecisionCache {
    fn new(capacity: usize) -> Self {
        DecisionCache {
            capacity,
            decisions: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, id: TraceId) -> Option<bool> {
        self.decisions.get(&id).copied()
    }

    fn insert(&mut self, id: TraceId, keep: bool) {
        if self.capacity == 0 {
            return;
        }
        if self.decisions.insert(id, keep).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.decisions.remove(&oldest);
            }
        }
    }
}

/// Trace ids are random: their low 64 bits are a hash already.
#[derive(Default)]
struct TraceIdHasher(u64);

impl Hasher for TraceIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = (value as u64) ^ ((value >> 64) as u64).rotate_left(32);
    }
}
