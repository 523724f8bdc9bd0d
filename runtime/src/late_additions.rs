//! What is added to a spanflow span where its work is not entered: on
//! another thread, or under a `Context` made current by hand
//! (`Context::attach`, OpenTelemetry's `FutureExt::with_context`). The
//! span's record is out of reach there (records are not shared, which is
//! what makes them cheap), so the addition goes to the collector, which
//! keeps it until the record arrives and moves it in before export.
//!
//! An addition made while its span is open is queued before the span
//! ends, and the collector, once the queue is non-empty, takes it before
//! it exports the next record, so the record finds what was added to it.
//! Each addition carries the time it was made: one made after its span's
//! end is dropped, since an ended span does not change. Additions whose
//! span never arrives (a span dropped at a full queue, a `Context` kept
//! past its span) are bounded: the oldest spans' are let go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::SpanId;

use crate::clock::{self, Ticks};
use crate::current::Addition;
use crate::diagnostics::{self, Level};
use crate::limits::Limits;
use crate::record::SpanRecord;

/// Additions queued at most between two looks of the collector; more are
/// dropped.
const QUEUED_AT_MOST: usize = 4096;

/// Additions the collector keeps at most for spans not yet arrived; past
/// it, the oldest spans' are let go.
const WAITING_AT_MOST: usize = 4096;

/// The application threads' side: a queue, and a flag the collector reads
/// before each record so that an empty queue costs it one load.
#[derive(Default)]
pub(crate) struct LateAdditions {
    queue: Mutex<Vec<(SpanId, Ticks, Addition)>>,
    queued: AtomicBool,
    /// Whether dropping at a full queue has been said.
    said_dropped: AtomicBool,
}

impl LateAdditions {
    /// Queues `addition` for the span `id`; drops it if the queue is full.
    pub(crate) fn submit(&self, id: SpanId, addition: Addition) {
        let made = clock::now();
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if queue.len() < QUEUED_AT_MOST {
            queue.push((id, made, addition));
            self.queued.store(true, Ordering::Release);
        } else if !self.said_dropped.swap(true, Ordering::Relaxed) {
            diagnostics::say(
                Level::Warn,
                format_args!(
                    "events and attributes added to spans outside their own work (a context \
                     attached by hand, another thread) are being dropped: more than \
                     {QUEUED_AT_MOST} came between two collections"
                ),
            );
        }
    }
}

/// The collector's side: additions by span, until their records arrive.
#[derive(Default)]
pub(crate) struct Waiting {
    by_span: HashMap<SpanId, Vec<(Ticks, Addition)>>,
    /// Spans in the order their first addition arrived, for letting the
    /// oldest go; may name spans already served.
    order: VecDeque<SpanId>,
    count: usize,
    /// Taken from the queue under its lock, to hold it briefly.
    taking: Vec<(SpanId, Ticks, Addition)>,
}

impl Waiting {
    /// Moves what was added to `record`'s span before its end, queued so
    /// far, into it.
    #[inline]
    pub(crate) fn serve(&mut self, late: &LateAdditions, record: &mut SpanRecord, limits: &Limits) {
        if late.queued.load(Ordering::Acquire) {
            self.receive(late);
        }
        if self.by_span.is_empty() {
            return;
        }
        if let Some(additions) = self.by_span.remove(&record.span_id) {
            self.count -= additions.len();
            for (made, addition) in additions {
                if made <= record.end {
                    addition.apply(record, limits);
                }
            }
        }
    }

    #[cold]
    fn receive(&mut self, late: &LateAdditions) {
        {
            let mut queue = late
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            late.queued.store(false, Ordering::Relaxed);
            std::mem::swap(&mut *queue, &mut self.taking);
        }
        for (id, made, addition) in self.taking.drain(..) {
            let additions = self.by_span.entry(id).or_default();
            if additions.is_empty() {
                self.order.push_back(id);
            }
            additions.push((made, addition));
            self.count += 1;
        }
        while self.count > WAITING_AT_MOST {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(additions) = self.by_span.remove(&oldest) {
                self.count -= additions.len();
            }
        }
        if self.order.len() > 2 * WAITING_AT_MOST {
            let by_span = &self.by_span;
            self.order.retain(|id| by_span.contains_key(id));
        }
    }

    /// Additions waiting, for tests.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    fn attribute(index: usize) -> Addition {
        Addition::Attribute(KeyValue::new("index", index as i64))
    }

    /// A record of span `id` that has just ended.
    fn record(id: u64) -> SpanRecord {
        let mut record = SpanRecord::blank(crate::callsite!("work"));
        record.span_id = SpanId::from(id);
        record.end = clock::now();
        record
    }

    #[test]
    fn a_record_takes_what_was_queued_for_it_and_only_that() {
        let late = LateAdditions::default();
        let mut waiting = Waiting::default();
        late.submit(SpanId::from(1_u64), attribute(1));
        late.submit(SpanId::from(2_u64), attribute(2));
        let mut first = record(1);
        waiting.serve(&late, &mut first, &Limits::default());
        assert_eq!(first.attributes, [KeyValue::new("index", 1_i64)]);
        assert_eq!(waiting.count(), 1, "the other span's waits");
        let mut again = record(1);
        waiting.serve(&late, &mut again, &Limits::default());
        assert!(again.attributes.is_empty(), "served once");
    }

    #[test]
    fn an_addition_made_after_its_span_ended_is_dropped() {
        let late = LateAdditions::default();
        let mut waiting = Waiting::default();
        let mut ended = record(1);
        late.submit(SpanId::from(1_u64), attribute(1));
        ended.end = 0;
        waiting.serve(&late, &mut ended, &Limits::default());
        assert!(ended.attributes.is_empty(), "{:?}", ended.attributes);
        assert_eq!(waiting.count(), 0, "not kept either");
    }

    #[test]
    fn the_queue_and_the_waiting_additions_are_bounded() {
        let late = LateAdditions::default();
        let mut waiting = Waiting::default();
        for index in 0..QUEUED_AT_MOST + 10 {
            late.submit(SpanId::from(index as u64 + 1), attribute(index));
        }
        waiting.serve(&late, &mut record(u64::MAX), &Limits::default());
        assert_eq!(
            waiting.count(),
            QUEUED_AT_MOST,
            "the queue's excess dropped"
        );
        for index in 0..WAITING_AT_MOST {
            late.submit(SpanId::from(1_000_000 + index as u64), attribute(index));
        }
        waiting.serve(&late, &mut record(u64::MAX), &Limits::default());
        assert_eq!(waiting.count(), WAITING_AT_MOST);
        // The oldest span's additions were let go, the newest kept.
        let mut oldest = record(1);
        waiting.serve(&late, &mut oldest, &Limits::default());
        assert!(oldest.attributes.is_empty());
        let mut newest = record(1_000_000 + WAITING_AT_MOST as u64 - 1);
        waiting.serve(&late, &mut newest, &Limits::default());
        assert_eq!(newest.attributes.len(), 1);
        assert!(waiting.order.len() <= 2 * WAITING_AT_MOST + 1);
    }
}
