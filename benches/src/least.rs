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
//! cannot be cheaper than this on the same machine; the distance between
//! this row and spanflow's is what spanflow's own choices cost.

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
    let (mut record, context) = start(name);
    let guard = context.attach();
    let output = black_box(body());
    drop(guard);
    record.end = now();
    push(record);
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
