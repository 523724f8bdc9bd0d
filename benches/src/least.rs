//! The least a span can do under the performance issue's rules, as an
//! anchor measured in the same runs as spanflow: new ids, the span made
//! current through an OpenTelemetry `Context` (so that other
//! instrumentation sees it), two clock reads, and its record pushed onto a
//! thread-local buffer. For a future, each poll also makes the span's
//! `Context` current and, with clocks, reads the clock around the poll.
//!
//! Nothing else: no sampler, no call-site metadata, no panic handling, no
//! hand-off of records to another thread, no export (the buffer is reset
//! when full, at no cost). A span path that makes one request one trace
//! cannot be cheaper than this on the same machine. The distance between
//! this row and spanflow's is what spanflow's own choices cost, together
//! with handing records to a background thread; [`handed_off`] is this
//! span with a minimal hand-off, to tell the two apart.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::Poll;

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};

/// What the least span keeps of itself: 80 bytes. Written as a recorder
/// keeps them; only the tests read them back.
#[derive(Clone, Copy)]
#[allow(dead_code)]
struct Record {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: SpanId,
    start: u64,
    end: u64,
    first_poll: u64,
    busy: u64,
    name: &'static str,
}

const BUFFERED: usize = 4096;

thread_local! {
    static RECORDS: RefCell<Vec<Record>> = RefCell::new(Vec::with_capacity(BUFFERED));
    static RNG: Cell<u64> = const { Cell::new(0x2545_f491_4f6c_dd1d) };
}

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

fn now() -> u64 {
    CLOCK.raw()
}

/// One step of wyrand, the generator fastrand uses.
fn next_u64() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
    })
}

fn push(record: Record) {
    RECORDS.with(|records| {
        let mut records = records.borrow_mut();
        if records.len() == BUFFERED {
            records.clear();
        }
        records.push(record);
    });
}

/// Starts a span under the current context: its record so far and the
/// `Context` that makes it current.
fn start(name: &'static str) -> (Record, Context) {
    let start = now();
    let span_id = SpanId::from(next_u64());
    Context::map_current(|current| {
        let parent = current.span();
        let parent = parent.span_context();
        let (trace_id, parent_span_id) = if parent.is_valid() {
            (parent.trace_id(), parent.span_id())
        } else {
            let high = u128::from(next_u64()) << 64;
            (
                TraceId::from(high | u128::from(next_u64())),
                SpanId::INVALID,
            )
        };
        let context = current.with_remote_span_context(SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            parent.trace_state().clone(),
        ));
        let record = Record {
            trace_id,
            span_id,
            parent_span_id,
            start,
            end: 0,
            first_poll: 0,
            busy: 0,
            name,
        };
        (record, context)
    })
}

/// Runs `body` inside a new span, current while it runs.
pub fn in_span<R>(name: &'static str, body: impl FnOnce() -> R) -> R {
    in_span_keeping(name, body, push)
}

/// [`in_span`], its finished record given to `keep`.
#[inline(always)]
fn in_span_keeping<R>(
    name: &'static str,
    body: impl FnOnce() -> R,
    keep: impl FnOnce(Record),
) -> R {
    let (mut record, context) = start(name);
    let guard = context.attach();
    let output = black_box(body());
    drop(guard);
    record.end = now();
    keep(record);
    output
}

/// A future inside a new span: the span's `Context` is current during each
/// poll, and with `clocks` the time inside polls is summed.
pub struct Traced<F> {
    inner: F,
    context: Context,
    record: Record,
    clocks: bool,
}

impl<F: Future + Unpin> Traced<F> {
    /// `inner` in a new span under the current context.
    pub fn new(inner: F, clocks: bool) -> Self {
        let (record, context) = start("future");
        Traced {
            inner,
            context,
            record,
            clocks,
        }
    }
}

impl<F: Future + Unpin> Future for Traced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let poll_start = if this.clocks {
            let now = now();
            if this.record.first_poll == 0 {
                this.record.first_poll = now;
            }
            now
        } else {
            0
        };
        let guard = this.context.clone().attach();
        let polled = Pin::new(&mut this.inner).poll(cx);
        drop(guard);
        let poll_end = if this.clocks {
            let now = now();
            this.record.busy += now - poll_start;
            now
        } else {
            0
        };
        if polled.is_ready() {
            this.record.end = if this.clocks { poll_end } else { now() };
            push(this.record);
        }
        polled
    }
}

/// The least span that also hands its record to another thread, which the
/// performance issue's design asks for ("batches handed to a background
/// thread"): the same span, its record then pushed by value onto the
/// thread's own ring (rtrb, 80-byte slots written in turn), which a reader
/// thread empties at each [`drain`](handed_off::drain), reading every
/// record. No boxes to recycle, no sampler, no names, no conversion: a
/// minimal hand-off, to show what moving records between threads costs on
/// the day's host beside the spans that do it. Its ring holds twice the
/// spans between two drains of the benches; a ring many times larger, whose
/// slots have left the reader's caches before they are written again, costs
/// less per span and megabytes per thread (BENCHMARKS.md).
pub mod handed_off {
    use std::cell::RefCell;
    use std::hint::black_box;
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
    use std::sync::{Mutex, OnceLock, PoisonError};

    use rtrb::{Consumer, Producer, RingBuffer};

    use super::{Record, in_span_keeping};

    /// Slots per thread: twice the spans between two drains of the benches.
    const CAPACITY: usize = 2 * crate::SPANS_PER_DRAIN as usize;

    thread_local! {
        static RING: RefCell<Option<Producer<Record>>> = const { RefCell::new(None) };
    }

    struct Reader {
        rings: Mutex<Vec<Consumer<Record>>>,
        requests: Mutex<SyncSender<SyncSender<u64>>>,
    }

    fn reader() -> &'static Reader {
        static READER: OnceLock<Reader> = OnceLock::new();
        READER.get_or_init(|| {
            let (requests, incoming) = sync_channel(1);
            std::thread::spawn(move || read_on_request(incoming));
            Reader {
                rings: Mutex::new(Vec::new()),
                requests: Mutex::new(requests),
            }
        })
    }

    fn read_on_request(incoming: Receiver<SyncSender<u64>>) {
        for reply in incoming {
            let mut read = 0;
            let mut rings = reader()
                .rings
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for ring in rings.iter_mut() {
                while let Ok(record) = ring.pop() {
                    // Copied out of its slot, so every byte is read, as a
                    // collector reads (a reference into a slot, given to
                    // `black_box`, would read nothing).
                    black_box(&record);
                    read += 1;
                }
            }
            let _ = reply.send(read);
        }
    }

    fn push(record: Record) {
        RING.with(|ring| {
            let mut ring = ring.borrow_mut();
            let producer = ring.get_or_insert_with(|| {
                let (producer, consumer) = RingBuffer::new(CAPACITY);
                reader()
                    .rings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(consumer);
                producer
            });
            // A full ring (no drain) drops the record, as a recorder would.
            let _ = producer.push(record);
        });
    }

    /// Runs `body` inside a new span, current while it runs; its record
    /// goes to the reader thread.
    pub fn in_span<R>(name: &'static str, body: impl FnOnce() -> R) -> R {
        in_span_keeping(name, body, push)
    }

    /// Has the reader thread read every record pushed so far; returns how
    /// many it read.
    pub fn drain() -> u64 {
        let (reply, replied) = sync_channel(1);
        let sent = reader()
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(reply);
        match sent {
            Ok(()) => replied.recv().unwrap_or(0),
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain() -> Vec<Record> {
        RECORDS.with(|records| std::mem::take(&mut *records.borrow_mut()))
    }

    #[test]
    fn children_nest_under_the_current_span_and_see_it_through_the_context() {
        drain();
        let seen = in_span("root", || {
            let root = Context::map_current(|cx| cx.span().span_context().span_id());
            in_span("child", || {});
            root
        });
        let records = drain();
        let [child, root] = records.as_slice() else {
            panic!("two records, child first: {}", records.len());
        };
        assert_eq!((root.name, child.name), ("root", "child"));
        assert_eq!(root.span_id, seen);
        assert_eq!(root.parent_span_id, SpanId::INVALID);
        assert_eq!(child.parent_span_id, root.span_id);
        assert_eq!(child.trace_id, root.trace_id);
        assert!(root.start <= child.start && child.end <= root.end);
    }

    #[test]
    fn handed_off_records_nest_and_reach_the_reader_thread() {
        handed_off::drain();
        let (root, child) = handed_off::in_span("root", || {
            let current = || Context::map_current(|cx| cx.span().span_context().clone());
            (current(), handed_off::in_span("child", current))
        });
        assert!(root.is_valid() && root.is_sampled());
        assert_eq!(child.trace_id(), root.trace_id());
        assert_ne!(child.span_id(), root.span_id());
        assert_eq!(handed_off::drain(), 2);
        assert_eq!(handed_off::drain(), 0);
    }

    #[test]
    fn a_future_sums_its_polls_and_is_current_in_each() {
        drain();
        let mut seen = Vec::new();
        let polls = std::future::poll_fn(|cx| {
            seen.push(Context::map_current(|current| {
                current.span().span_context().span_id()
            }));
            if seen.len() < 4 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        });
        crate::run(Traced::new(polls, true));
        let records = drain();
        let [record] = records.as_slice() else {
            panic!("one record: {}", records.len());
        };
        assert_eq!(seen, [record.span_id; 4]);
        assert!(record.start <= record.first_poll && record.first_poll <= record.end);
        assert!(record.busy <= record.end - record.first_poll);
        assert_ne!(record.trace_id, TraceId::INVALID);
    }
}
