//! The hand-off of finished spans from application threads to the export
//! pipeline.
//!
//! Each thread that ends a sampled span owns two bounded single-producer
//! rings (rtrb): one carries boxed records to the collector, the other brings
//! the emptied boxes back. Starting a span takes a spare box, ending it
//! pushes the pointer: no lock, no allocation once the thread is warm, and a
//! record is written once, in place (moving 170-byte records by value cost
//! a fifth of the span path before, in callgrind's instruction counts).
//!
//! One collector thread drains every ring, converts records to `SpanData`
//! and hands them to the SDK span processors (or, when spanflow's OTLP
//! processor is the only export, hands it the records, which it encodes
//! without a `SpanData`). A full ring drops the span and
//! counts it, so a slow exporter costs spans, never memory or application
//! latency.
//!
//! The span ring is large (16,384 by default) because the collector drains
//! more slowly than a thread can make spans: a burst of 10,000 spans in a
//! millisecond or two is over before the collector has taken much, so the
//! ring must hold the burst (with 2,048 slots, 78% of such bursts were
//! dropped at 100,000 spans per second on average). The spare ring is small:
//! the collector keeps at most `SPARES_KEPT` boxes per thread for reuse and
//! frees the rest, so a burst's records do not stay allocated after it.
//!
//! Spans made through the OpenTelemetry API arrive as `SpanData` from the
//! SDK provider's processor ([`ApiSpans`]) into one bounded queue, which
//! the collector drains after the rings; after a burst, the queue's buffer
//! is given back once the collector finds it empty.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant as StdInstant};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use rtrb::{Consumer, Producer, PushError, RingBuffer};

use crate::callsite::CallSite;
use crate::clock::{self, WallAnchor};
use crate::diagnostics::{self, Level};
use crate::late_additions::{LateAdditions, Waiting};
use crate::record::SpanRecord;
use crate::timeout::deadline_after;

/// How often a producer checks how full its ring is and wakes the collector
/// early (a check reads the consumer's cache line, so not every push).
const WAKE_CHECK_EVERY: u32 = 64;
/// Boxes kept per thread for reuse, at most: enough for the spans a thread
/// makes between two wake-ups at full speed, so no steady state allocates.
const SPARES_KEPT: usize = 2048;
/// Spans waiting in a ring that wake the collector before its interval.
const WAKE_AT: usize = SPARES_KEPT / 2;

thread_local! {
    static LOCAL_QUEUE: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };
}

struct LocalQueue {
    spans: Producer<Box<SpanRecord>>,
    spares: Consumer<Box<SpanRecord>>,
    /// The box of the last span dropped because `spans` was full, kept for
    /// the next span when no spare has come back: under overload the
    /// collector returns none, and freeing each dropped span's box only to
    /// allocate the next one made a dropped span cost two allocations.
    rejected: Option<Box<SpanRecord>>,
    pushes: u32,
}

/// Root spans a drain holds back to export last (see `Shared::drain`):
/// a drain interval's worth at a few thousand traces a second; past that
/// they go out in the order read, which only a trace drawn as it ends
/// would notice.
const ROOTS_HELD: usize = 64;

/// What a drain keeps between drains, so as not to allocate: the root
/// spans it holds back to export last, and the API spans it is exporting.
#[derive(Default)]
struct HeldRoots {
    /// With the index of the rings their boxes go back to.
    records: Vec<(usize, Box<SpanRecord>)>,
    /// Made through the OpenTelemetry API.
    api: Vec<SpanData>,
    /// API spans taken from the queue, being exported.
    taking: Vec<SpanData>,
    /// What was added to spans where their work was not entered, until
    /// their records arrive.
    waiting: Waiting,
}

/// API spans the collector takes from their queue under one lock.
const API_SPANS_AT_ONCE: usize = 64;

/// Room the API spans' queue keeps once empty (360 KB); a burst's beyond it
/// is freed.
const API_SPANS_KEPT: usize = 1024;

/// The collector's ends of one thread's rings.
struct ThreadRings {
    spans: Consumer<Box<SpanRecord>>,
    spares: Producer<Box<SpanRecord>>,
    /// Its thread was gone when the last drain began.
    abandoned: bool,
}

pub(crate) struct Collector {
    shared: Arc<Shared>,
    worker: thread::Thread,
    handle: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    processors: Vec<Arc<dyn SpanProcessor>>,
    direct: Option<Arc<dyn RecordSink>>,
    queue_capacity: usize,
    interval: Duration,
    /// The first anchor, taken at install (which calibrates the clock, so
    /// that no span pays for it); the collector renews it as it goes
    /// (`clock::ANCHOR_SERVES`).
    anchor: WallAnchor,
    scope: InstrumentationScope,
    new_queues: Mutex<Vec<ThreadRings>>,
    /// Spans ended while their thread's ring was unreachable (during thread
    /// teardown); bounded by `queue_capacity`. Kept boxed: records travel as
    /// boxes, and unboxing here would copy them for nothing.
    #[allow(clippy::vec_box)]
    orphans: Mutex<Vec<Box<SpanRecord>>>,
    /// Spans made through the OpenTelemetry API (see [`ApiSpans`]), at most
    /// `queue_capacity`. A locked queue rather than a channel: a span moves
    /// into it once, where std's channel moved its 352 bytes three times
    /// more (callgrind, `profile_spans api`).
    api_spans: Mutex<VecDeque<SpanData>>,
    /// See `late_additions.rs`.
    late: LateAdditions,
    /// A thread wakes the collector every this many API spans it sends.
    api_wake_every: u32,
    dropped: AtomicU64,
    collected: AtomicU64,
    stopped: AtomicBool,
    reported_panic: AtomicBool,
    control: Mutex<Control>,
    control_changed: Condvar,
}

#[derive(Default)]
struct Control {
    flush_requested: u64,
    flush_done: u64,
    shutdown: bool,
    finished: bool,
}

pub(crate) struct CollectorSettings {
    pub(crate) processors: Vec<Arc<dyn SpanProcessor>>,
    /// Takes records as they are, in place of the processors' `on_end`,
    /// when it is the only export (it is also among `processors`, which
    /// are flushed and shut down).
    pub(crate) direct: Option<Arc<dyn RecordSink>>,
    pub(crate) queue_capacity: usize,
    pub(crate) interval: Duration,
    pub(crate) scope: InstrumentationScope,
}

/// An export that takes spanflow's records without their becoming
/// `SpanData` first (the OTLP processor, which encodes them).
pub(crate) trait RecordSink: Send + Sync {
    /// Takes what it needs of `record`, leaving it ready for reuse (see
    /// `SpanRecord::clear`).
    fn on_record(&self, record: &mut SpanRecord, anchor: WallAnchor, scope: &InstrumentationScope);
}

/// A flush or shutdown did not complete within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

impl Collector {
    pub(crate) fn start(settings: CollectorSettings) -> std::io::Result<Self> {
        let queue_capacity = settings.queue_capacity.max(2);
        let shared = Arc::new(Shared {
            processors: settings.processors,
            direct: settings.direct,
            queue_capacity,
            interval: settings.interval,
            anchor: WallAnchor::new(),
            scope: settings.scope,
            new_queues: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            api_spans: Mutex::new(VecDeque::new()),
            late: LateAdditions::default(),
            // As a ring wakes it, before a thread alone can fill the queue.
            api_wake_every: u32::try_from(queue_capacity / 2)
                .unwrap_or(u32::MAX)
                .clamp(1, WAKE_AT as u32),
            dropped: AtomicU64::new(0),
            collected: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            reported_panic: AtomicBool::new(false),
            control: Mutex::new(Control::default()),
            control_changed: Condvar::new(),
        });
        register_metrics(&shared);
        let worker_shared = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("spanflow-collector".into())
            .spawn(move || worker_shared.run())?;
        Ok(Collector {
            shared,
            worker: handle.thread().clone(),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// A box for a new span's record: a spare one returned by the collector
    /// when there is one, a new one otherwise. The caller sets every field
    /// of its first cache line; the collector has reset the others.
    #[inline]
    pub(crate) fn acquire(&self, callsite: &'static CallSite) -> Box<SpanRecord> {
        let spare = LOCAL_QUEUE
            .try_with(|cell| {
                let mut slot = cell.try_borrow_mut().ok()?;
                let queue = self.registered(&mut slot)?;
                queue.spares.pop().ok().or_else(|| queue.rejected.take())
            })
            .ok()
            .flatten();
        match spare {
            Some(mut record) => {
                record.callsite = callsite;
                record
            }
            None => Box::new(SpanRecord::blank(callsite)),
        }
    }

    /// Hands a finished span to the collector. Never blocks, never allocates.
    #[inline]
    pub(crate) fn submit(&self, record: Box<SpanRecord>) {
        if self.shared.stopped.load(Ordering::Relaxed) {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            keep_after_stop(record);
            return;
        }
        let mut record = Some(record);
        let _ = LOCAL_QUEUE.try_with(|cell| {
            let Ok(mut slot) = cell.try_borrow_mut() else {
                return;
            };
            let Some(queue) = self.registered(&mut slot) else {
                return;
            };
            let Some(to_push) = record.take() else {
                return;
            };
            match queue.spans.push(to_push) {
                Ok(()) => {
                    queue.pushes = queue.pushes.wrapping_add(1);
                    if queue.pushes % WAKE_CHECK_EVERY == 0
                        && self.shared.queue_capacity - queue.spans.slots()
                            >= WAKE_AT.min(self.shared.queue_capacity / 2)
                    {
                        self.worker.unpark();
                    }
                }
                Err(PushError::Full(rejected)) => {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    self.worker.unpark();
                    keep_rejected(queue, rejected);
                }
            }
        });
        if let Some(record) = record {
            self.submit_orphan(record);
        }
    }

    /// This thread's rings, registering them on its first span.
    #[inline]
    fn registered<'a>(&self, slot: &'a mut Option<LocalQueue>) -> Option<&'a mut LocalQueue> {
        if slot.is_none() {
            *slot = Some(self.register()?);
        }
        slot.as_mut()
    }

    /// This thread's rings, made on its first span; `None` once the
    /// collector has stopped, which would never drain them (a thread that
    /// starts making spans after shutdown then allocates each span's box).
    #[cold]
    fn register(&self) -> Option<LocalQueue> {
        if self.shared.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let (spans, spans_consumer) = RingBuffer::new(self.shared.queue_capacity);
        let (spares_producer, spares) =
            RingBuffer::new(self.shared.queue_capacity.min(SPARES_KEPT));
        lock(&self.shared.new_queues).push(ThreadRings {
            spans: spans_consumer,
            spares: spares_producer,
            abandoned: false,
        });
        Some(LocalQueue {
            spans,
            spares,
            rejected: None,
            pushes: 0,
        })
    }

    #[cold]
    fn submit_orphan(&self, record: Box<SpanRecord>) {
        let mut orphans = lock(&self.shared.orphans);
        if orphans.len() < self.shared.queue_capacity {
            orphans.push(record);
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Where additions for a span whose work is not entered go.
    pub(crate) fn late_additions(&self) -> &LateAdditions {
        &self.shared.late
    }

    /// Where the SDK provider hands the spans made through the
    /// OpenTelemetry API.
    pub(crate) fn api_spans(&self) -> ApiSpans {
        ApiSpans {
            shared: Arc::clone(&self.shared),
            worker: self.worker.clone(),
        }
    }

    /// Spans lost because a ring or the API spans' queue was full, or the
    /// collector had stopped.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Spans handed to the processors so far.
    pub(crate) fn collected(&self) -> u64 {
        self.shared.collected.load(Ordering::Relaxed)
    }

    /// Drains every ring into the processors and flushes them.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), TimedOut> {
        flush(&self.shared, &self.worker, timeout)
    }

    /// Drains, flushes and shuts the processors down; later spans are dropped.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), TimedOut> {
        let deadline = deadline_after(timeout);
        {
            let mut control = lock(&self.shared.control);
            control.shutdown = true;
            self.worker.unpark();
            while !control.finished {
                let left = deadline.saturating_duration_since(StdInstant::now());
                if left.is_zero() {
                    return Err(TimedOut);
                }
                control = self
                    .shared
                    .control_changed
                    .wait_timeout(control, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        if let Some(handle) = lock(&self.handle).take() {
            let _ = handle.join();
        }
        Ok(())
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("queue_capacity", &self.shared.queue_capacity)
            .field("interval", &self.shared.interval)
            .field("collected", &self.collected())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// `spanflow.spans.collected` and `spanflow.spans.dropped` through the
/// global meter provider installed when the pipeline is (nothing without
/// one).
fn register_metrics(shared: &Arc<Shared>) {
    let meter = opentelemetry::global::meter("spanflow");
    let counter = |name: &'static str, description: &'static str, read: fn(&Shared) -> u64| {
        let shared = Arc::downgrade(shared);
        meter
            .u64_observable_counter(name)
            .with_description(description)
            .with_unit("{span}")
            .with_callback(move |observer| {
                if let Some(shared) = shared.upgrade() {
                    observer.observe(read(&shared), &[]);
                }
            })
            .build();
    };
    counter(
        "spanflow.spans.collected",
        "Spans handed to the span processors",
        |shared| shared.collected.load(Ordering::Relaxed),
    );
    counter(
        "spanflow.spans.dropped",
        "Spans dropped because a thread's queue was full",
        |shared| shared.dropped.load(Ordering::Relaxed),
    );
}

impl Shared {
    fn run(&self) {
        // Exporters run here (`with_simple_exporter`, the embedded
        // default): what they do is not traced into their own export.
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        let mut queues: Vec<ThreadRings> = Vec::new();
        let mut held = HeldRoots::default();
        let mut reported_drops = false;
        let mut anchor = self.anchor;
        loop {
            let (flush_target, shutdown) = {
                let control = lock(&self.control);
                (control.flush_requested, control.shutdown)
            };
            if shutdown {
                self.stopped.store(true, Ordering::Relaxed);
            }
            queues.append(&mut lock(&self.new_queues));
            anchor = anchor.renewed_after(clock::ANCHOR_SERVES);
            self.drain(&mut queues, &mut held, anchor);
            if !reported_drops {
                reported_drops = self.report_first_drops();
            }

            if shutdown {
                for processor in &self.processors {
                    self.surviving(|| {
                        let _ = processor.force_flush();
                        let _ = processor.shutdown();
                    });
                }
                let mut control = lock(&self.control);
                control.finished = true;
                self.control_changed.notify_all();
                return;
            }
            let flushed = {
                let control = lock(&self.control);
                control.flush_done < flush_target
            };
            if flushed {
                for processor in &self.processors {
                    self.surviving(|| {
                        let _ = processor.force_flush();
                    });
                }
                let mut control = lock(&self.control);
                control.flush_done = control.flush_done.max(flush_target);
                self.control_changed.notify_all();
                // A flush may have been requested meanwhile: loop at once.
                continue;
            }
            thread::park_timeout(self.interval);
        }
    }

    /// Says once, on standard error, that spans are being dropped (the
    /// count is `PipelineGuard::dropped_spans`, and the
    /// `spanflow.spans.dropped` metric): losing telemetry silently would
    /// be worse than one line. Returns whether it has said so.
    fn report_first_drops(&self) -> bool {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped == 0 {
            return false;
        }
        diagnostics::say(
            Level::Warn,
            format_args!(
                "{dropped} spans dropped: a thread made spans faster than they could be \
                 exported, and its queue ({} spans) was full; the count goes on in \
                 PipelineGuard::dropped_spans (reported once)",
                self.queue_capacity
            ),
        );
        true
    }

    /// Exports what every ring holds, root spans last: threads' rings are
    /// drained one after the other, so a root read from the first ring
    /// would otherwise reach the exporters before spans of its trace that
    /// ended on other threads in the same interval (services in one process
    /// calling each other over HTTP), and an exporter that takes a root's
    /// end as its trace's end (the terminal tree) would draw the trace
    /// without them. Spans made through the OpenTelemetry API come after
    /// the rings', their roots last of all. `held` is kept between drains,
    /// so that holding roots back allocates nothing, and holds at most
    /// [`ROOTS_HELD`] of each kind: a held root has left its ring or queue,
    /// which may fill again while an exporter stalls, so each is a span
    /// beyond the queue's bound.
    fn drain(&self, queues: &mut Vec<ThreadRings>, held: &mut HeldRoots, anchor: WallAnchor) {
        let mut exported = 0_u64;
        let limits = crate::recorder::limits();
        for (index, rings) in queues.iter_mut().enumerate() {
            // Read before draining: a ring abandoned now has nothing left after.
            rings.abandoned = rings.spans.is_abandoned();
            while let Ok(mut record) = rings.spans.pop() {
                exported += 1;
                held.waiting.serve(&self.late, &mut record, &limits);
                if record.is_root() && held.records.len() < ROOTS_HELD {
                    held.records.push((index, record));
                    continue;
                }
                self.surviving(|| self.export(&mut record, anchor));
                // A full spare ring (or a finished thread) frees the box.
                let _ = rings.spares.push(record);
            }
        }
        let orphans = std::mem::take(&mut *lock(&self.orphans));
        exported += orphans.len() as u64;
        for mut record in orphans {
            held.waiting.serve(&self.late, &mut record, &limits);
            self.surviving(|| self.export(&mut record, anchor));
        }
        // A few at a time, so that the application's threads wait little
        // for the lock and few spans are out of the queue's bound; at most
        // a queue's worth, so that a drain ends while API spans keep coming.
        let mut taken = 0;
        while taken < self.queue_capacity {
            {
                let mut queue = lock(&self.api_spans);
                let count = queue.len().min(API_SPANS_AT_ONCE);
                held.taking.extend(queue.drain(..count));
                if queue.is_empty() && queue.capacity() > API_SPANS_KEPT {
                    queue.shrink_to(API_SPANS_KEPT);
                }
            }
            if held.taking.is_empty() {
                break;
            }
            taken += held.taking.len();
            exported += held.taking.len() as u64;
            for span in held.taking.drain(..) {
                if span.parent_span_id == SpanId::INVALID && held.api.len() < ROOTS_HELD {
                    held.api.push(span);
                    continue;
                }
                self.surviving(|| self.export_data(span));
            }
        }
        for (index, mut record) in held.records.drain(..) {
            self.surviving(|| self.export(&mut record, anchor));
            let _ = queues[index].spares.push(record);
        }
        for span in held.api.drain(..) {
            self.surviving(|| self.export_data(span));
        }
        queues.retain(|rings| !rings.abandoned);
        // Once per drain: the counter shares a cache line with the flag
        // every span's hand-off reads, and a write per span took that line
        // from the threads making spans (BENCHMARKS.md).
        self.collected.fetch_add(exported, Ordering::Relaxed);
    }

    /// Runs a call into the span processors (and so the exporters) so that
    /// one that panics loses the span it was given, not the pipeline: a
    /// collector thread ended by a panic would drain nothing more, and every
    /// flush would wait out its timeout.
    fn surviving(&self, work: impl FnOnce()) {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).is_err();
        if panicked && !self.reported_panic.swap(true, Ordering::Relaxed) {
            diagnostics::say(
                Level::Error,
                format_args!(
                    "a span processor or exporter panicked on the collector thread; the span \
                     it was given is lost and export goes on (reported once)"
                ),
            );
        }
    }

    fn export(&self, record: &mut SpanRecord, anchor: WallAnchor) {
        if let Some(direct) = &self.direct {
            direct.on_record(record, anchor, &self.scope);
            return;
        }
        self.export_data(record.take_span_data(anchor, &self.scope));
    }

    fn export_data(&self, data: SpanData) {
        if let Some((last, rest)) = self.processors.split_last() {
            for processor in rest {
                processor.on_end(data.clone());
            }
            last.on_end(data);
        }
    }
}

/// Keeps a dropped span's box for the next span (see
/// `LocalQueue::rejected`), emptied as the collector empties the boxes it
/// returns.
#[cold]
fn keep_rejected(queue: &mut LocalQueue, mut record: Box<SpanRecord>) {
    record.clear();
    queue.rejected = Some(record);
}

/// [`keep_rejected`] for a span ended after the collector stopped, when
/// its thread has rings (a program that goes on after shutting its
/// pipeline down keeps making spans, and each would allocate a box).
#[cold]
fn keep_after_stop(record: Box<SpanRecord>) {
    let _ = LOCAL_QUEUE.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut()
            && let Some(queue) = slot.as_mut()
        {
            keep_rejected(queue, record);
        }
    });
}

/// Drains every ring and the API spans into the processors and flushes
/// them.
fn flush(shared: &Shared, worker: &Thread, timeout: Duration) -> Result<(), TimedOut> {
    let deadline = deadline_after(timeout);
    let mut control = lock(&shared.control);
    if control.finished {
        return Ok(());
    }
    control.flush_requested += 1;
    let target = control.flush_requested;
    worker.unpark();
    while control.flush_done < target && !control.finished {
        let left = deadline.saturating_duration_since(StdInstant::now());
        if left.is_zero() {
            return Err(TimedOut);
        }
        control = shared
            .control_changed
            .wait_timeout(control, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    Ok(())
}

thread_local! {
    /// API spans this thread has sent (see `ApiSpans::submit`).
    static API_SENT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The collector's intake for spans made through the OpenTelemetry API,
/// which the SDK provider ends on the application thread: they reach the
/// processors on the collector thread as spanflow's spans do, so that a
/// processor's work (a simple exporter's export) and its panics stay off
/// the application, and an API root goes out after the spanflow spans of
/// its trace ended before it (the terminal tree draws a trace at its
/// root's end).
pub(crate) struct ApiSpans {
    shared: Arc<Shared>,
    worker: Thread,
}

impl ApiSpans {
    /// Queues `span` for the processors. Never blocks: a full queue drops
    /// it and counts it, as a full ring does. Inlined, so that the span
    /// moves into the queue straight from the caller's frame.
    #[inline]
    pub(crate) fn submit(&self, span: SpanData) {
        let shared = &self.shared;
        if shared.stopped.load(Ordering::Relaxed) {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let queued = {
            let mut queue = lock(&shared.api_spans);
            let room = queue.len() < shared.queue_capacity;
            if room {
                queue.push_back(span);
            }
            room
        };
        if !queued {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.worker.unpark();
            return;
        }
        // Counted per thread: a shared counter is one more cache line every
        // thread making API spans would fight over.
        let wake = API_SENT
            .try_with(|sent| {
                let count = sent.get().wrapping_add(1);
                sent.set(count);
                count % shared.api_wake_every == 0
            })
            .unwrap_or(false);
        if wake {
            self.worker.unpark();
        }
    }

    /// [`Collector::flush`].
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), TimedOut> {
        flush(&self.shared, &self.worker, timeout)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use opentelemetry::Context;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

    use super::{API_SPANS_KEPT, Collector, CollectorSettings, lock};
    use crate::export::trace::tests::timed;

    /// Holds the collector in `on_end` while the test holds the gate.
    #[derive(Debug)]
    struct Gated(Arc<Mutex<()>>);

    impl SpanProcessor for Gated {
        fn on_start(&self, _span: &mut Span, _cx: &Context) {}

        fn on_end(&self, _span: SpanData) {
            drop(lock(&self.0));
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn the_api_spans_queue_gives_a_bursts_room_back_once_drained() {
        let gate = Arc::new(Mutex::new(()));
        let collector = Collector::start(CollectorSettings {
            processors: vec![Arc::new(Gated(Arc::clone(&gate)))],
            direct: None,
            queue_capacity: 16_384,
            interval: Duration::from_secs(3600),
            scope: crate::recorder::scope(),
        })
        .expect("collector thread");
        let api_spans = collector.api_spans();
        let burst = 8 * API_SPANS_KEPT;
        {
            let _held = lock(&gate);
            for index in 0..burst as u64 {
                api_spans.submit(timed(1, index + 1, 0, 0, 1, "burst"));
            }
            assert!(lock(&collector.shared.api_spans).capacity() >= API_SPANS_KEPT);
        }
        collector.flush(Duration::from_secs(10)).expect("flushed");
        assert_eq!(collector.collected(), burst as u64, "nothing dropped");
        let room = lock(&collector.shared.api_spans).capacity();
        assert!(
            room <= API_SPANS_KEPT,
            "{room} spans' room kept after the burst"
        );
        collector
            .shutdown(Duration::from_secs(10))
            .expect("shut down");
    }
}
