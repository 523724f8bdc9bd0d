//! The span whose work runs on this thread now, for code that holds no
//! handle on it: log bridges, and helpers that add an event or attribute
//! to "the current span".
//!
//! OpenTelemetry's `get_active_span` reaches spans made through the SDK;
//! spanflow's own spans are in the current `Context` only as span contexts
//! (their records are not shared, which is what makes them cheap). So a
//! spanflow span being polled (a `#[trace]` future, any `Traced`) or run (a
//! `#[trace]` fn, [`Span::in_scope`](crate::Span::in_scope) or
//! [`Span::enter`](crate::Span::enter), a
//! [`TracedStream`](crate::TracedStream)'s `poll_next`) is also
//! entered here, by id, around its work; what is added meanwhile waits in a
//! thread-local list and moves into the span's record when the work
//! returns (at most 1,024 additions wait: beyond, they are counted as
//! dropped, as the span's limits would count them). A span's `Context`
//! made current some other way (`Context::attach`, OpenTelemetry's
//! `FutureExt::with_context`,
//! [`with_context`](crate::with_context)), on any thread, does not enter
//! it: what is added there goes to the collector, which moves it into the
//! record when the span ends (a little dearer: a lock and a clock read),
//! and drops it if the span had ended already (`late_additions.rs`). With
//! [`Pipeline::with_writable_active_span`](crate::Pipeline::with_writable_active_span),
//! the OpenTelemetry API's active span is itself a way in
//! (`active_span.rs`).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanId, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};

use crate::clock;
use crate::limits::Limits;
use crate::log_event::{LineStart, LogBuffers, LogEvent, LogSink, TargetName};
use crate::record::SpanRecord;
use crate::recorder::Backend;

thread_local! {
    /// The entered spanflow span's id (INVALID when none).
    static ENTERED: Cell<SpanId> = const { Cell::new(SpanId::INVALID) };
    /// What was added to entered spans, moved into their records when
    /// their work returns (the records themselves stay with their owners).
    static PENDING: RefCell<Vec<(SpanId, Waiting)>> = const { RefCell::new(Vec::new()) };
    /// The text and fields of the log lines waiting in `PENDING`, cut off
    /// as spans take their lines. Apart from it so that a line logged
    /// while another is written (by a `Debug` impl that logs) finds these
    /// busy and is made an `Event` instead, where one cell would have been
    /// borrowed twice.
    static LOG_BUFFERS: RefCell<LogBuffers> = const { RefCell::new(LogBuffers::new()) };
    /// What came for entered spans beyond `PENDING_AT_MOST`, per span:
    /// counted, or kept in place of the one before (status, name).
    static OVERFLOW: RefCell<Vec<Overflow>> = const { RefCell::new(Vec::new()) };
    /// Whether `PENDING` or `OVERFLOW` may hold anything: every poll
    /// checks it, and a `Cell` with no destructor is one thread-local read,
    /// where the list (which has one) also costs its registration check and
    /// a borrow (~30 instructions a poll in callgrind).
    static MAYBE_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Additions waiting for entered spans, at most. A span whose work never
/// returns (a `#[trace]` fn that loops for good, logging as it goes) would
/// otherwise hold every line logged in it; beyond the bound, events,
/// attributes and links are counted as dropped on their span, as its
/// limits would count them, and a status or a name takes the place of
/// the one that came before it.
const PENDING_AT_MOST: usize = 1024;

/// What came for one entered span once `PENDING` was full.
struct Overflow {
    id: SpanId,
    events: u32,
    attributes: u32,
    links: u32,
    status: Option<Status>,
    name: Option<Cow<'static, str>>,
}

impl Overflow {
    fn new(id: SpanId) -> Overflow {
        Overflow {
            id,
            events: 0,
            attributes: 0,
            links: 0,
            status: None,
            name: None,
        }
    }

    fn take(&mut self, waiting: Waiting) {
        let addition = match waiting {
            Waiting::Added(addition) => addition,
            Waiting::Log(_) => return self.count_event(),
        };
        match addition {
            Addition::Event(_) | Addition::EventAt(..) => self.count_event(),
            Addition::Attribute(_) => self.attributes = self.attributes.saturating_add(1),
            Addition::Link(_) => self.links = self.links.saturating_add(1),
            Addition::Status(status) => {
                // As the record would take it: Ok is final, Unset ignored.
                if self.status != Some(Status::Ok) && status != Status::Unset {
                    self.status = Some(status);
                }
            }
            Addition::Name(name) => self.name = Some(name),
        }
    }

    fn count_event(&mut self) {
        self.events = self.events.saturating_add(1);
    }

    fn apply(self, record: &mut SpanRecord) {
        if (self.events | self.attributes | self.links) != 0 {
            let extras = record.extras();
            extras.dropped_events = extras.dropped_events.saturating_add(self.events);
            extras.dropped_attributes = extras.dropped_attributes.saturating_add(self.attributes);
            extras.dropped_links = extras.dropped_links.saturating_add(self.links);
        }
        if let Some(status) = self.status {
            record.set_status(status);
        }
        if let Some(name) = self.name {
            record.name = Some(name);
        }
    }
}

/// What waits in `PENDING` for an entered span.
enum Waiting {
    Added(Addition),
    /// A log line whose text and fields are in `LOG_BUFFERS`.
    Log(LogEvent),
}

pub(crate) enum Addition {
    Event(Event),
    /// An event at a time by the span's clock (see
    /// `SpanRecord::add_event_at`).
    EventAt(clock::Ticks, Event),
    Attribute(KeyValue),
    Status(Status),
    Name(Cow<'static, str>),
    Link(Link),
}

impl Addition {
    /// Moves this addition into the span's record, within its limits.
    pub(crate) fn apply(self, record: &mut SpanRecord, limits: &Limits) {
        match self {
            Addition::Event(event) => record.add_event(event, limits),
            Addition::EventAt(time, event) => record.add_event_at(time, event, limits),
            Addition::Attribute(attribute) => record.add_attribute(attribute, limits),
            Addition::Status(status) => record.set_status(status),
            Addition::Name(name) => record.name = Some(name),
            Addition::Link(link) => record.add_link(link, limits),
        }
    }
}

/// A spanflow span entered on this thread while its work runs; restores
/// the previously entered one when dropped (also while unwinding).
pub(crate) struct Entered {
    id: SpanId,
    previous: SpanId,
}

impl Entered {
    #[inline]
    pub(crate) fn new(id: SpanId) -> Entered {
        Entered {
            id,
            previous: ENTERED.with(|entered| entered.replace(id)),
        }
    }

    /// Moves what was added to this span during its work into its record.
    #[inline]
    pub(crate) fn leave(self, record: &mut SpanRecord) {
        let id = self.id;
        drop(self);
        if !MAYBE_PENDING.with(Cell::get) {
            return;
        }
        let limits = crate::recorder::limits();
        PENDING.with(|pending| take_pending(id, &mut pending.borrow_mut(), record, &limits));
    }
}

/// Moves what waits in `pending` for the span `id` into its record.
fn take_pending(
    id: SpanId,
    pending: &mut Vec<(SpanId, Waiting)>,
    record: &mut SpanRecord,
    limits: &Limits,
) {
    // Where the first of the span's lines begins in the buffers.
    let mut lines_from = None;
    let mut index = 0;
    while index < pending.len() {
        if pending[index].0 != id {
            index += 1;
            continue;
        }
        match pending.remove(index).1 {
            Waiting::Added(addition) => addition.apply(record, limits),
            Waiting::Log(line) => {
                // The first is the earliest: `pending` is in write order.
                lines_from.get_or_insert(line.begins());
                LOG_BUFFERS.with(|logs| match logs.try_borrow_mut() {
                    Ok(mut logs) => record.add_log(&mut logs, line, limits),
                    // The buffers are busy only while a line is written,
                    // and a span entered meanwhile (by the line's `Debug`
                    // impls) had its lines made `Event`s: not reached.
                    Err(_) => record.count_dropped_event(),
                });
            }
        }
    }
    let (taken, no_overflow) = OVERFLOW.with(|overflow| {
        let mut overflow = overflow.borrow_mut();
        let taken = overflow
            .iter()
            .position(|waiting| waiting.id == id)
            .map(|index| overflow.swap_remove(index));
        (taken, overflow.is_empty())
    });
    if let Some(taken) = taken {
        taken.apply(record);
    }
    if let Some(begins) = lines_from {
        // A span's lines are written while it is the entered span, so the
        // lines of spans entered above it were taken (and cut off) before
        // it leaves: its own are the buffers' last, and nothing after its
        // first line is still waiting. Cut off, the buffers of a span that
        // never leaves (a worker's loop) do not grow with the lines of the
        // spans it runs.
        cut_log_buffers(begins);
    }
    if pending.is_empty() && no_overflow {
        MAYBE_PENDING.with(|maybe| maybe.set(false));
    }
}

/// Cuts this thread's log buffers off at `begins` (see
/// [`LogBuffers::cut`]), unless a line is being written.
fn cut_log_buffers(begins: LineStart) {
    LOG_BUFFERS.with(|logs| {
        if let Ok(mut logs) = logs.try_borrow_mut() {
            logs.cut(begins);
        }
    });
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        ENTERED.with(|entered| entered.set(self.previous));
    }
}

/// Whether the spanflow span `id` is entered on this thread: its work is
/// running here.
pub(crate) fn is_entered(id: SpanId) -> bool {
    id != SpanId::INVALID && ENTERED.with(Cell::get) == id
}

/// Counts or keeps what came for the entered span `id` once `PENDING` is
/// full (see [`PENDING_AT_MOST`]).
#[cold]
fn overflow(id: SpanId, take: impl FnOnce(&mut Overflow)) {
    OVERFLOW.with(|overflow| {
        let mut overflow = overflow.borrow_mut();
        let index = match overflow.iter().position(|waiting| waiting.id == id) {
            Some(index) => index,
            None => {
                overflow.push(Overflow::new(id));
                overflow.len() - 1
            }
        };
        take(&mut overflow[index]);
    });
}

/// Keeps `waiting` for the span `id`, entered on this thread.
fn wait(id: SpanId, waiting: Waiting) {
    PENDING.with(|pending| {
        let mut pending = pending.borrow_mut();
        if pending.len() < PENDING_AT_MOST {
            pending.push((id, waiting));
        } else {
            overflow(id, |overflow| overflow.take(waiting));
        }
    });
    MAYBE_PENDING.with(|maybe| maybe.set(true));
}

/// Queues `addition` for the spanflow span `id`: on this thread if the
/// span is entered here, else with the collector, which moves it into the
/// record when the span ends (`late_additions.rs`).
pub(crate) fn add_to(id: SpanId, addition: Addition) {
    if is_entered(id) {
        wait(id, Waiting::Added(addition));
    } else if let Some(recorder) = crate::recorder::get()
        && let Backend::Fast(collector) = &recorder.backend
    {
        collector.late_additions().submit(id, addition);
    }
}

/// The current span, as additions made without a handle reach it.
enum CurrentSpan {
    /// A spanflow span: the entered one, or one whose `Context` was made
    /// current by hand (only a span context, local and sampled: nothing
    /// else puts such a `Context` in place).
    Spanflow(SpanId),
    /// A span the OpenTelemetry API records (an SDK span, say, made
    /// current inside a spanflow span), reached as its active span.
    Api,
    /// None, or one that is not recorded here: nothing to add to.
    Unrecorded,
}

fn current_span() -> CurrentSpan {
    let entered = ENTERED.with(Cell::get);
    Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        let id = context.span_id();
        if id != SpanId::INVALID && id == entered {
            CurrentSpan::Spanflow(id)
        } else if span.is_recording() {
            CurrentSpan::Api
        } else if context.is_sampled() && !context.is_remote() {
            CurrentSpan::Spanflow(id)
        } else {
            CurrentSpan::Unrecorded
        }
    })
}

/// Adds a log line to the current span as an event (`logs::LOG_EVENT`);
/// `fill` writes its message and fields, and runs only when there is a
/// span to take them. For an entered span the line is written into this
/// thread's buffers and kept compact (`log_event.rs`); elsewhere it becomes
/// an `Event` at once.
pub(crate) fn add_log(
    level: &'static str,
    target: TargetName<'_>,
    fill: impl FnOnce(&mut LogSink<'_>),
) {
    let id = match current_span() {
        CurrentSpan::Spanflow(id) if is_entered(id) => id,
        CurrentSpan::Spanflow(id) => {
            let event = log_event(level, target, fill, SystemTime::UNIX_EPOCH);
            return add_to(id, Addition::EventAt(clock::now(), event));
        }
        CurrentSpan::Api => {
            let event = log_event(level, target, fill, SystemTime::now());
            return opentelemetry::trace::get_active_span(|span| {
                span.add_event_with_timestamp(event.name, event.timestamp, event.attributes)
            });
        }
        CurrentSpan::Unrecorded => return,
    };
    let waiting_now = PENDING.with(|pending| pending.borrow().len());
    if waiting_now >= PENDING_AT_MOST {
        // Not even written: it would only be counted.
        return overflow(id, Overflow::count_event);
    }
    if waiting_now == 0 {
        // Nothing waiting refers to the buffers: whatever they hold (lines
        // of a span that left by unwinding, say) goes.
        cut_log_buffers(LineStart::default());
    }
    let waiting = LOG_BUFFERS.with(|logs| match logs.try_borrow_mut() {
        Ok(mut logs) => Waiting::Log(logs.write(clock::now(), level, target, fill)),
        Err(_) => {
            let event = log_event(level, target, fill, SystemTime::UNIX_EPOCH);
            Waiting::Added(Addition::EventAt(clock::now(), event))
        }
    });
    wait(id, waiting);
}

/// A log line as an OpenTelemetry event at `timestamp` (a placeholder
/// for `Addition::EventAt`).
fn log_event(
    level: &'static str,
    target: TargetName<'_>,
    fill: impl FnOnce(&mut LogSink<'_>),
    timestamp: SystemTime,
) -> Event {
    let mut buffers = LogBuffers::new();
    let line = buffers.write(0, level, target, fill);
    buffers.into_event(line, timestamp)
}

/// Adds an event to the current span: the spanflow span whose work is
/// running, or the OpenTelemetry API span current in the `Context`.
/// Nothing happens when there is none, or it is not recorded.
///
/// ```
/// # #[spanflow::trace]
/// # fn work() {
/// spanflow::current::add_event("cache.miss", vec![opentelemetry::KeyValue::new("key", "user:7")]);
/// # }
/// ```
pub fn add_event(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
    match current_span() {
        CurrentSpan::Spanflow(id) => {
            let event = Event::new(name, SystemTime::UNIX_EPOCH, attributes, 0);
            add_to(id, Addition::EventAt(clock::now(), event));
        }
        CurrentSpan::Api => {
            opentelemetry::trace::get_active_span(|span| span.add_event(name, attributes));
        }
        CurrentSpan::Unrecorded => {}
    }
}

/// Sets an attribute on the current span (see [`add_event`]).
pub fn set_attribute(attribute: KeyValue) {
    match current_span() {
        CurrentSpan::Spanflow(id) => add_to(id, Addition::Attribute(attribute)),
        CurrentSpan::Api => {
            opentelemetry::trace::get_active_span(|span| span.set_attribute(attribute));
        }
        CurrentSpan::Unrecorded => {}
    }
}

/// The current trace and span ids, for log formatters; `None` outside any
/// trace.
pub fn ids() -> Option<(TraceId, SpanId)> {
    Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        context
            .is_valid()
            .then(|| (context.trace_id(), context.span_id()))
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::ContextGuard;
    use opentelemetry::trace::{SpanContext, TraceFlags};
    use proptest::prelude::*;

    use super::*;

    fn pending() -> usize {
        PENDING.with(|pending| pending.borrow().len())
    }

    #[test]
    fn an_addition_reaches_only_a_span_entered_here() {
        let id = SpanId::from(7_u64);
        add_to(id, Addition::Attribute(KeyValue::new("early", true)));
        assert_eq!(pending(), 0, "not entered: dropped, not kept for ever");

        let entered = Entered::new(id);
        assert!(is_entered(id));
        add_to(id, Addition::Attribute(KeyValue::new("during", true)));
        add_to(
            SpanId::from(8_u64),
            Addition::Attribute(KeyValue::new("other", true)),
        );
        assert_eq!(pending(), 1, "only the entered span's");
        let mut record = SpanRecord::blank(crate::callsite!("work"));
        entered.leave(&mut record);
        assert!(!is_entered(id));
        assert_eq!(record.attributes, [KeyValue::new("during", true)]);
        assert_eq!(pending(), 0);
    }

    #[test]
    fn a_span_entered_for_good_holds_at_most_the_bound() {
        let id = SpanId::from(9_u64);
        let entered = Entered::new(id);
        let event = || Event::new("line", std::time::SystemTime::UNIX_EPOCH, Vec::new(), 0);
        let events = PENDING_AT_MOST + 100;
        for _ in 0..events {
            add_to(id, Addition::Event(event()));
        }
        add_to(id, Addition::Attribute(KeyValue::new("late", true)));
        add_to(id, Addition::Status(Status::error("first")));
        add_to(id, Addition::Status(Status::Unset));
        add_to(id, Addition::Status(Status::error("last")));
        add_to(id, Addition::Name("renamed".into()));
        assert_eq!(
            pending(),
            PENDING_AT_MOST,
            "the rest counted or kept in place"
        );

        let mut record = SpanRecord::blank(crate::callsite!("work"));
        entered.leave(&mut record);
        let kept = crate::recorder::limits().counts.max_events_per_span as usize;
        let extras = record.extras.as_deref().expect("events and drops");
        assert_eq!(extras.events.len(), kept.min(PENDING_AT_MOST));
        assert_eq!(extras.dropped_events as usize, events - extras.events.len());
        assert_eq!(extras.dropped_attributes, 1);
        assert_eq!(extras.status, Status::error("last"));
        assert_eq!(record.name.as_deref(), Some("renamed"));
        assert_eq!(pending(), 0);
        assert!(OVERFLOW.with(|overflow| overflow.borrow().is_empty()));
        assert!(!MAYBE_PENDING.with(Cell::get));
    }

    fn logged(level: &'static str, message: &str) {
        add_log(level, TargetName::Static("shop"), |sink| {
            sink.message(|into| into.push_str(message));
            sink.field("n", opentelemetry::Value::from(1));
        });
    }

    fn event_names(record: &mut SpanRecord) -> Vec<String> {
        let scope = opentelemetry::InstrumentationScope::builder("spanflow").build();
        let data = record.take_span_data(clock::WallAnchor::new(), &scope);
        let message = |event: &Event| {
            let value = event
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "message");
            value.map_or(event.name.to_string(), |kv| kv.value.to_string())
        };
        data.events.iter().map(message).collect()
    }

    /// Makes the span `id` current and enters it, as a `#[trace]` fn does.
    fn enter(id: u64) -> (ContextGuard, Entered) {
        let context = SpanContext::new(
            TraceId::from(1_u128),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            Default::default(),
        );
        let attached = Context::new().with_remote_span_context(context).attach();
        (attached, Entered::new(SpanId::from(id)))
    }

    #[test]
    fn log_lines_reach_the_entered_span_in_order_with_its_events() {
        let (_current, entered) = enter(10);
        logged("INFO", "first");
        add_event("between", Vec::new());
        logged("WARN", "second");
        assert_eq!(pending(), 3);

        let mut record = SpanRecord::blank(crate::callsite!("work"));
        entered.leave(&mut record);
        assert_eq!(pending(), 0);
        assert!(LOG_BUFFERS.with(|logs| logs.borrow().is_empty()), "cleared");
        assert_eq!(event_names(&mut record), ["first", "between", "second"]);
    }

    #[test]
    fn a_line_logged_while_another_is_written_is_kept_too() {
        let (_current, entered) = enter(11);
        add_log("INFO", TargetName::Static("shop"), |sink| {
            // As a `Debug` impl that logs would, while the buffers are busy.
            logged("INFO", "inner");
            sink.message(|into| into.push_str("outer"));
        });
        let mut record = SpanRecord::blank(crate::callsite!("work"));
        entered.leave(&mut record);
        assert_eq!(event_names(&mut record), ["inner", "outer"]);
    }

    #[test]
    fn the_buffers_hold_only_lines_still_waiting() {
        let text_held = || LOG_BUFFERS.with(|logs| logs.borrow().text_len());
        // A worker whose span never leaves, logging once, running spans
        // that log.
        let (_worker_context, worker) = enter(20);
        logged("INFO", "worker started");
        let held = text_held();
        for id in 21..1_021 {
            let (attached, entered) = enter(id);
            logged("INFO", "job done");
            let mut record = SpanRecord::blank(crate::callsite!("job"));
            entered.leave(&mut record);
            drop(attached);
            assert_eq!(event_names(&mut record), ["job done"]);
            assert_eq!(text_held(), held, "the job's line cut off");
        }
        let mut record = SpanRecord::blank(crate::callsite!("worker"));
        worker.leave(&mut record);
        assert_eq!(event_names(&mut record), ["worker started"]);
        assert_eq!(text_held(), 0);
    }

    /// What a thread does to the spans it enters, in the property below.
    #[derive(Clone, Debug)]
    enum Step {
        Enter,
        Leave,
        Log(u8),
        Event(u8),
    }

    proptest! {
        /// Whatever the nesting, each span gets exactly its own lines and
        /// events in order, and the buffers are empty once all have left.
        #[test]
        fn nested_spans_each_take_their_own_lines(
            steps in proptest::collection::vec(
                prop_oneof![
                    Just(Step::Enter),
                    Just(Step::Leave),
                    (0_u8..50).prop_map(Step::Log),
                    (0_u8..50).prop_map(Step::Event),
                ],
                0..60,
            )
        ) {
            let mut open: Vec<(ContextGuard, Entered, Vec<String>)> = Vec::new();
            let mut next_id = 100;
            let leave = |open: &mut Vec<(ContextGuard, Entered, Vec<String>)>| {
                let (attached, entered, expected) = open.pop().expect("a span");
                let mut record = SpanRecord::blank(crate::callsite!("step"));
                entered.leave(&mut record);
                drop(attached);
                prop_assert_eq!(event_names(&mut record), expected);
                Ok(())
            };
            for step in steps {
                match step {
                    Step::Enter => {
                        next_id += 1;
                        let (attached, entered) = enter(next_id);
                        open.push((attached, entered, Vec::new()));
                    }
                    Step::Leave if !open.is_empty() => leave(&mut open)?,
                    Step::Leave => {}
                    Step::Log(n) => {
                        let message = format!("line {n} {}", "x".repeat(usize::from(n)));
                        logged("INFO", &message);
                        if let Some((_, _, expected)) = open.last_mut() {
                            expected.push(message);
                        }
                    }
                    Step::Event(n) => {
                        let name = format!("event {n}");
                        add_event(name.clone(), Vec::new());
                        if let Some((_, _, expected)) = open.last_mut() {
                            expected.push(name);
                        }
                    }
                }
            }
            while !open.is_empty() {
                leave(&mut open)?;
            }
            prop_assert!(LOG_BUFFERS.with(|logs| logs.borrow().is_empty()));
            prop_assert_eq!(pending(), 0);
        }
    }
}
