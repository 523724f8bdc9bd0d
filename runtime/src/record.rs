//! The fixed-size record a sampled span leaves behind, and its conversion to
//! the SDK's `SpanData` on the collector thread.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::attributes;
use crate::callsite::CallSite;
use crate::clock::{self, Ticks, WallAnchor};
use crate::limits::Limits;
use crate::log_event::{LogBuffers, LogEvent};

/// Everything known about a span. Records live in boxes that are recycled
/// between each application thread and the collector, so a span is written
/// in place once and moves as a pointer; no allocation per span once a
/// thread's boxes are warm, also for the lists of attributes, events and
/// links a span adds (a box keeps their room, within bounds), though not for
/// what those hold (a string value, an event's own attributes).
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct SpanRecord {
    // Every span writes the first cache line and nothing else (the
    // collector only reads it); the rest is written by the spans that use
    // it and reset by the collector before the box comes back. So a
    // recycled box brings one line back from the collector's cache instead
    // of three: `profile_spans sync`, 12-15 alternating runs, 112-116 ->
    // 109-113 ns a span with the collector idle, 132-138 -> 122-131 ns with
    // it draining alongside (see BENCHMARKS.md).
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) callsite: &'static CallSite,
    pub(crate) start: Ticks,
    pub(crate) end: Ticks,
    pub(crate) flags: TraceFlags,
    pub(crate) parent_is_remote: bool,
    pub(crate) cancelled: bool,
    pub(crate) clocks: Option<FutureClocks>,
    /// The trace's `tracestate`, when it has one: shared between the
    /// records of a thread's spans in the same trace (see `shared_state`),
    /// where a copy per span was five allocations for a two-entry state.
    pub(crate) trace_state: Option<Arc<TraceState>>,
    pub(crate) attributes: Vec<KeyValue>,
    /// A name given at run time (an HTTP route, a Kafka topic), replacing
    /// the call site's. Here rather than in the extras: every span of the
    /// adapters has one, and the extras are an allocation.
    pub(crate) name: Option<Cow<'static, str>>,
    /// Rarely present, so boxed to keep the record small.
    pub(crate) extras: Option<Box<Extras>>,
}

/// The async clocks of a `Traced` future, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) queued_ns: u64,
    pub(crate) busy_ns: u64,
    pub(crate) idle_ns: u64,
    pub(crate) polls: u64,
}

/// The async clocks of a `Traced` future as its polls left them, in raw
/// clock ticks: like the span's start and end, they become nanoseconds on
/// the collector thread (three scalings were ~100 instructions at the end
/// of every async span, in callgrind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FutureClocks {
    /// When the future began to wait: its creation, or its task's spawn.
    pub(crate) queued_from: Ticks,
    /// Its first poll; `None` when it never was polled.
    pub(crate) first_poll: Option<Ticks>,
    /// The ticks spent inside its polls.
    pub(crate) busy_ticks: u64,
    pub(crate) polls: u64,
}

impl FutureClocks {
    /// The clocks in nanoseconds, for a future whose span ended at `end`:
    /// queued until the first poll, then busy inside polls and idle between
    /// them.
    pub(crate) fn timing(self, end: Ticks) -> Timing {
        let Some(first_poll) = self.first_poll else {
            return Timing {
                queued_ns: clock::nanos_between(self.queued_from, end),
                ..Timing::default()
            };
        };
        let active_ns = clock::nanos_between(first_poll, end);
        let busy_ns = clock::nanos_between(0, self.busy_ticks);
        Timing {
            queued_ns: clock::nanos_between(self.queued_from, first_poll),
            busy_ns,
            idle_ns: active_ns.saturating_sub(busy_ns),
            polls: self.polls,
        }
    }
}

/// Attributes a recycled record keeps room for, at most. Its lists are
/// emptied on the collector thread, not given away, so a span that fills
/// them finds room already made by an earlier span in the same box instead
/// of allocating, on its own thread, memory that another thread would free
/// (each such allocation took glibc's slow path on the span's thread). The
/// bounds cap what a box holds beyond its 192 bytes at ~4.4 KB (16
/// attributes of 56 bytes, the 136-byte extras, 8 events of 80, 8 links
/// of 96, and the log lines' 1 KiB of text and 16 fields: see
/// `log_event.rs`), for the boxes a thread has in circulation (at most
/// `collector::SPARES_KEPT` spare ones and those in flight); a list that
/// grew beyond them is given away.
const KEPT_ATTRIBUTES: usize = 16;
/// Events or links a recycled record keeps room for, at most (see
/// [`KEPT_ATTRIBUTES`]).
const KEPT_EVENTS: usize = 8;

/// Empties `list` for the box's next span, keeping its room up to `kept`.
fn empty_keeping_room<T>(list: &mut Vec<T>, kept: usize) {
    if list.capacity() > kept {
        *list = Vec::new();
    } else {
        list.clear();
    }
}

/// Moves `list`'s items out (into a list allocated here, on the collector
/// thread), keeping its room up to `kept` for the box's next span; a list
/// that grew beyond that is given away whole.
fn take_keeping_room<T>(list: &mut Vec<T>, kept: usize) -> Vec<T> {
    if list.capacity() > kept {
        std::mem::take(list)
    } else {
        // Not `mem::take`: that would give the room away with the items.
        #[allow(clippy::drain_collect)]
        list.drain(..).collect()
    }
}

/// An event as a record keeps it: as it was added, with its own time; one
/// timed by the span's clock (its `timestamp` is set on the collector);
/// or a log line whose text and fields are in the record's `Extras::logs`.
#[derive(Debug)]
pub(crate) enum SpanEvent {
    Event(Event),
    At(Ticks, Event),
    Log(LogEvent),
}

/// What few spans have. The box stays with its record once a span needed
/// it, emptied by the collector like the record's attributes.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// Set on failures, rarely otherwise.
    pub(crate) status: Status,
    /// Events and log lines, in the order they came.
    pub(crate) events: Vec<SpanEvent>,
    /// The text and fields of the log lines among `events`.
    pub(crate) logs: LogBuffers,
    pub(crate) links: Vec<Link>,
    /// Attributes, events and links left out by the span limits.
    pub(crate) dropped_attributes: u32,
    pub(crate) dropped_events: u32,
    pub(crate) dropped_links: u32,
}

impl Extras {
    /// Empties the extras for the box's next span, keeping their room.
    fn clear(&mut self) {
        let Extras {
            status,
            events,
            logs,
            links,
            dropped_attributes,
            dropped_events,
            dropped_links,
        } = self;
        *status = Status::Unset;
        empty_keeping_room(events, KEPT_EVENTS);
        logs.clear();
        empty_keeping_room(links, KEPT_EVENTS);
        *dropped_attributes = 0;
        *dropped_events = 0;
        *dropped_links = 0;
    }
}

impl SpanRecord {
    /// The first span of its trace: no parent here or elsewhere.
    pub(crate) fn is_root(&self) -> bool {
        self.parent_span_id == SpanId::INVALID
    }

    /// A record to be filled in; see `collector::acquire`.
    pub(crate) fn blank(callsite: &'static CallSite) -> Self {
        SpanRecord {
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            parent_span_id: SpanId::INVALID,
            flags: TraceFlags::default(),
            parent_is_remote: false,
            cancelled: false,
            callsite,
            start: 0,
            end: 0,
            clocks: None,
            trace_state: None,
            attributes: Vec::new(),
            name: None,
            extras: None,
        }
    }

    pub(crate) fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }

    /// Adds an attribute the span was given, or counts it as dropped beyond
    /// the limit. spanflow's own attributes (`code.*`, the clocks) are added
    /// when the record is converted, and are not counted.
    pub(crate) fn add_attribute(&mut self, mut attribute: KeyValue, limits: &Limits) {
        if self.attributes.len() < limits.counts.max_attributes_per_span as usize {
            limits.cut(&mut attribute);
            self.attributes.push(attribute);
        } else {
            let extras = self.extras();
            extras.dropped_attributes = extras.dropped_attributes.saturating_add(1);
        }
    }

    /// Replaces the value of `attribute`'s key, or adds it when absent.
    pub(crate) fn replace_attribute(&mut self, mut attribute: KeyValue, limits: &Limits) {
        match self
            .attributes
            .iter_mut()
            .find(|kept| kept.key == attribute.key)
        {
            Some(kept) => {
                limits.cut(&mut attribute);
                *kept = attribute;
            }
            None => self.add_attribute(attribute, limits),
        }
    }

    /// Adds an event (its own attributes cut to the limit), or counts it as
    /// dropped beyond the limit.
    pub(crate) fn add_event(&mut self, event: Event, limits: &Limits) {
        self.push_event(event, limits, SpanEvent::Event);
    }

    /// Adds an event that happened at `time` by the span's clock, as
    /// [`add_event`](Self::add_event) does; its own `timestamp` is
    /// replaced. Cheaper than a wall-clock read, and within the span's
    /// start and end as they are converted.
    pub(crate) fn add_event_at(&mut self, time: Ticks, event: Event, limits: &Limits) {
        self.push_event(event, limits, |event| SpanEvent::At(time, event));
    }

    fn push_event(
        &mut self,
        mut event: Event,
        limits: &Limits,
        kept: impl FnOnce(Event) -> SpanEvent,
    ) {
        let Some(extras) = self.room_for_event(limits) else {
            return;
        };
        keep_own_attributes(
            &mut event.attributes,
            &mut event.dropped_attributes_count,
            limits.counts.max_attributes_per_event,
            limits,
        );
        extras.events.push(kept(event));
    }

    /// Counts an event the span could not keep.
    pub(crate) fn count_dropped_event(&mut self) {
        let extras = self.extras();
        extras.dropped_events = extras.dropped_events.saturating_add(1);
    }

    /// Adds a log line written into `from` (a thread's buffers) as an
    /// event, held to the limits as [`add_event`](Self::add_event) holds
    /// one, or counts it as dropped beyond the limit.
    pub(crate) fn add_log(&mut self, from: &mut LogBuffers, line: LogEvent, limits: &Limits) {
        if let Some(extras) = self.room_for_event(limits) {
            let line = extras.logs.take_from(from, line, limits);
            extras.events.push(SpanEvent::Log(line));
        }
    }

    /// The extras, when the span's event limit leaves room for one more;
    /// else the event is counted as dropped.
    fn room_for_event(&mut self, limits: &Limits) -> Option<&mut Extras> {
        if self.extras().events.len() >= limits.counts.max_events_per_span as usize {
            self.count_dropped_event();
            return None;
        }
        self.extras.as_deref_mut()
    }

    /// Adds a link (its own attributes cut to the limit), or counts it as
    /// dropped beyond the limit.
    pub(crate) fn add_link(&mut self, mut link: Link, limits: &Limits) {
        let extras = self.extras();
        if extras.links.len() >= limits.counts.max_links_per_span as usize {
            extras.dropped_links = extras.dropped_links.saturating_add(1);
            return;
        }
        keep_own_attributes(
            &mut link.attributes,
            &mut link.dropped_attributes_count,
            limits.counts.max_attributes_per_link,
            limits,
        );
        extras.links.push(link);
    }

    /// Sets the status as the specification asks: `Unset` is ignored and
    /// `Ok` is final; otherwise the last status set wins.
    pub(crate) fn set_status(&mut self, status: Status) {
        if status == Status::Unset {
            return;
        }
        let extras = self.extras();
        if extras.status != Status::Ok {
            extras.status = status;
        }
    }

    /// Empties what a span added, as `take_span_data` does, for a record
    /// whose contents were used in place (or dropped).
    pub(crate) fn clear(&mut self) {
        empty_keeping_room(&mut self.attributes, KEPT_ATTRIBUTES);
        self.name = None;
        if let Some(extras) = &mut self.extras {
            extras.clear();
        }
        self.trace_state = None;
        self.clocks = None;
    }

    pub(crate) fn span_context(&self) -> SpanContext {
        let trace_state = self.trace_state.as_deref().cloned().unwrap_or_default();
        SpanContext::new(self.trace_id, self.span_id, self.flags, false, trace_state)
    }

    /// Runs on the collector thread: the slow, allocating half of a span.
    /// Leaves the record empty, ready to be reused.
    pub(crate) fn take_span_data(
        &mut self,
        anchor: WallAnchor,
        scope: &InstrumentationScope,
    ) -> SpanData {
        let callsite = self.callsite;
        let mut attributes = Vec::with_capacity(self.attributes.len() + 8);
        if callsite.has_code_attributes() {
            attributes.push(KeyValue::new(
                attributes::CODE_FUNCTION_NAME,
                Value::String(callsite.function().into()),
            ));
            attributes.push(KeyValue::new(
                attributes::CODE_FILE_PATH,
                Value::String(callsite.file().into()),
            ));
            attributes.push(KeyValue::new(
                attributes::CODE_LINE_NUMBER,
                i64::from(callsite.line()),
            ));
        }
        if let Some(timing) = self.clocks.take().map(|clocks| clocks.timing(self.end)) {
            attributes.push(KeyValue::new(
                attributes::QUEUED_NS,
                saturate(timing.queued_ns),
            ));
            attributes.push(KeyValue::new(attributes::BUSY_NS, saturate(timing.busy_ns)));
            attributes.push(KeyValue::new(attributes::IDLE_NS, saturate(timing.idle_ns)));
            attributes.push(KeyValue::new(attributes::POLLS, saturate(timing.polls)));
        }
        if self.cancelled {
            attributes.push(KeyValue::new(attributes::CANCELLED, true));
        }
        let trace_state = self
            .trace_state
            .take()
            .map(|shared| Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
            .unwrap_or_default();
        let span_context =
            SpanContext::new(self.trace_id, self.span_id, self.flags, false, trace_state);
        attributes.append(&mut self.attributes);
        empty_keeping_room(&mut self.attributes, KEPT_ATTRIBUTES);

        let mut events = SpanEvents::default();
        let mut links = SpanLinks::default();
        let name = self.name.take().unwrap_or(Cow::Borrowed(callsite.name()));
        let mut dropped_attributes_count = 0;
        let mut status = Status::Unset;
        if let Some(extras) = &mut self.extras {
            status = std::mem::take(&mut extras.status);
            // Log lines become events here, on the collector thread.
            events.events = extras
                .events
                .drain(..)
                .map(|event| match event {
                    SpanEvent::Event(event) => event,
                    SpanEvent::At(time, mut event) => {
                        event.timestamp = anchor.to_system_time(time);
                        event
                    }
                    SpanEvent::Log(line) => extras
                        .logs
                        .take_event(line, anchor.to_system_time(line.time)),
                })
                .collect();
            events.dropped_count = extras.dropped_events;
            links.links = take_keeping_room(&mut extras.links, KEPT_EVENTS);
            links.dropped_count = extras.dropped_links;
            dropped_attributes_count = extras.dropped_attributes;
            extras.clear();
        }

        SpanData {
            span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: callsite.kind().to_otel(),
            name,
            start_time: anchor.to_system_time(self.start),
            end_time: anchor.to_system_time(self.end),
            attributes,
            dropped_attributes_count,
            events,
            links,
            status,
            instrumentation_scope: scope.clone(),
        }
    }
}

/// Cuts an event's or a link's own attributes to `keep`, counting those
/// left out, and their values to the length limit.
fn keep_own_attributes(
    attributes: &mut Vec<KeyValue>,
    dropped: &mut u32,
    keep: u32,
    limits: &Limits,
) {
    let keep = keep as usize;
    if attributes.len() > keep {
        let cut = u32::try_from(attributes.len() - keep).unwrap_or(u32::MAX);
        attributes.truncate(keep);
        *dropped = dropped.saturating_add(cut);
    }
    limits.cut_all(attributes);
}

/// A count or duration as an `i64` attribute, at most `i64::MAX`.
pub(crate) fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callsite::{Kind, Naming};
    use opentelemetry_sdk::trace::SpanLimits;

    static CALLSITE: CallSite = CallSite::new(
        Naming::Fixed {
            name: "work",
            function: "app::work",
        },
        "src/app.rs",
        1,
        Kind::Internal,
    );

    #[test]
    fn the_span_limits_keep_the_first_and_count_the_rest() {
        let limits = Limits {
            counts: SpanLimits {
                max_attributes_per_span: 2,
                max_events_per_span: 1,
                max_links_per_span: 1,
                max_attributes_per_event: 1,
                max_attributes_per_link: 1,
            },
            value_length: None,
        };
        let mut record = SpanRecord::blank(&CALLSITE);
        for n in 0..5 {
            record.add_attribute(KeyValue::new("n", n), &limits);
        }
        for name in ["first", "second"] {
            let attributes = vec![KeyValue::new("a", 1), KeyValue::new("b", 2)];
            record.add_event(
                Event::new(name, std::time::SystemTime::now(), attributes, 0),
                &limits,
            );
        }
        for span_id in [1_u64, 2, 3] {
            let context = SpanContext::new(
                TraceId::from(1_u128),
                SpanId::from(span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            );
            let attributes = vec![KeyValue::new("a", 1), KeyValue::new("b", 2)];
            record.add_link(Link::new(context, attributes, 0), &limits);
        }
        let scope = InstrumentationScope::builder("test").build();
        let data = record.take_span_data(WallAnchor::new(), &scope);
        let given: Vec<_> = data
            .attributes
            .iter()
            .filter(|attribute| attribute.key.as_str() == "n")
            .map(|attribute| attribute.value.clone())
            .collect();
        assert_eq!(given, [Value::I64(0), Value::I64(1)]);
        assert_eq!(data.dropped_attributes_count, 3);
        assert_eq!(data.events.events.len(), 1);
        assert_eq!(data.events.events[0].name, "first");
        assert_eq!(data.events.events[0].attributes.len(), 1);
        assert_eq!(data.events.events[0].dropped_attributes_count, 1);
        assert_eq!(data.events.dropped_count, 1);
        assert_eq!(data.links.links.len(), 1);
        assert_eq!(data.links.links[0].attributes, [KeyValue::new("a", 1)]);
        assert_eq!(data.links.links[0].dropped_attributes_count, 1);
        assert_eq!(data.links.dropped_count, 2);
        assert_reset(&record);
    }

    #[test]
    fn a_status_is_set_as_the_specification_asks() {
        let status_after = |statuses: &[Status]| {
            let mut record = SpanRecord::blank(&CALLSITE);
            for status in statuses {
                record.set_status(status.clone());
            }
            record.extras.map(|extras| extras.status)
        };
        assert_eq!(status_after(&[Status::Unset]), None, "Unset adds nothing");
        assert_eq!(
            status_after(&[Status::error("a"), Status::Unset]),
            Some(Status::error("a")),
            "Unset is ignored"
        );
        assert_eq!(
            status_after(&[Status::error("a"), Status::error("b")]),
            Some(Status::error("b")),
            "the last one wins"
        );
        assert_eq!(
            status_after(&[Status::Ok, Status::error("late")]),
            Some(Status::Ok),
            "Ok is final"
        );
    }

    #[test]
    fn given_string_values_are_cut_to_the_length_limit() {
        let limits = Limits {
            value_length: Some(3),
            ..Limits::default()
        };
        let mut record = SpanRecord::blank(&CALLSITE);
        record.add_attribute(KeyValue::new("given", "abcdef"), &limits);
        let attributes = vec![KeyValue::new("said", "ghijkl")];
        let event = Event::new("e", std::time::SystemTime::now(), attributes, 0);
        record.add_event(event, &limits);
        let scope = InstrumentationScope::builder("test").build();
        let data = record.take_span_data(WallAnchor::new(), &scope);
        let given = data.attributes.iter().find(|kv| kv.key.as_str() == "given");
        assert_eq!(given.map(|kv| &kv.value), Some(&Value::from("abc")));
        assert_eq!(
            data.events.events[0].attributes[0].value,
            Value::from("ghi")
        );
        // spanflow's own attributes are not given ones: the code path stays whole.
        let file = data
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == attributes::CODE_FILE_PATH);
        assert_eq!(file.map(|kv| kv.value.as_str()), Some("src/app.rs".into()));
    }

    #[test]
    fn what_every_span_writes_fits_the_first_cache_line() {
        assert!(std::mem::offset_of!(SpanRecord, cancelled) < 64);
        assert!(std::mem::offset_of!(SpanRecord, flags) < 64);
        assert!(std::mem::offset_of!(SpanRecord, end) < 64);
        assert!(std::mem::offset_of!(SpanRecord, clocks) >= 64);
        assert_eq!(std::mem::align_of::<SpanRecord>(), 64);
        // Three lines: a fourth would be one more for the collector to read.
        assert!(std::mem::size_of::<SpanRecord>() <= 192);
    }

    /// A record as a span that used everything leaves it.
    fn used() -> SpanRecord {
        let mut record = SpanRecord::blank(&CALLSITE);
        record.clocks = Some(FutureClocks {
            queued_from: 1,
            first_poll: Some(2),
            busy_ticks: 3,
            polls: 4,
        });
        record.extras().status = Status::error("failed");
        record.trace_state = Some(Arc::new("ot=th:8".parse().expect("valid")));
        record.attributes.push(KeyValue::new("k", 1));
        record.name = Some(Cow::Owned("GET /orders/{id}".into()));
        record.add_event(
            Event::new("e", std::time::SystemTime::now(), Vec::new(), 0),
            &Limits::default(),
        );
        record.add_event_at(
            2,
            Event::new("at", std::time::SystemTime::UNIX_EPOCH, Vec::new(), 0),
            &Limits::default(),
        );
        let (mut thread, line) = crate::log_event::written(
            2,
            "INFO",
            crate::log_event::TargetName::Borrowed("audit"),
            "charged",
            vec![KeyValue::new("order", 7)],
        );
        record.add_log(&mut thread, line, &Limits::default());
        record
    }

    fn assert_reset(record: &SpanRecord) {
        assert_eq!(record.clocks, None);
        assert_eq!(record.trace_state, None);
        assert!(record.attributes.is_empty());
        assert_eq!(record.name, None);
        if let Some(extras) = &record.extras {
            assert_eq!(extras.status, Status::Unset);
            assert!(extras.events.is_empty() && extras.links.is_empty());
            assert!(extras.logs.is_empty());
            let dropped = (
                extras.dropped_attributes,
                extras.dropped_events,
                extras.dropped_links,
            );
            assert_eq!(dropped, (0, 0, 0));
        }
    }

    #[test]
    fn a_recycled_record_keeps_room_for_its_lists_within_bounds() {
        let scope = InstrumentationScope::builder("spanflow").build();
        let limits = Limits::default();
        let event = || Event::new("e", std::time::SystemTime::now(), Vec::new(), 0);
        for convert in [true, false] {
            let mut record = SpanRecord::blank(&CALLSITE);
            record.add_event(event(), &limits);
            record.add_attribute(KeyValue::new("k", 1), &limits);
            if convert {
                let data = record.take_span_data(WallAnchor::new(), &scope);
                assert_eq!(data.events.events.len(), 1);
                assert!(data.attributes.iter().any(|kv| kv.key.as_str() == "k"));
            } else {
                record.clear();
            }
            assert_reset(&record);
            let extras = record.extras.as_ref().expect("the extras box is kept");
            assert!(extras.events.capacity() >= 1, "room for events is kept");
            assert!(
                record.attributes.capacity() >= 1,
                "room for attributes is kept"
            );

            for _ in 0..=KEPT_EVENTS {
                record.add_event(event(), &limits);
            }
            for index in 0..=KEPT_ATTRIBUTES {
                record.add_attribute(KeyValue::new("k", index as i64), &limits);
            }
            if convert {
                let data = record.take_span_data(WallAnchor::new(), &scope);
                assert_eq!(data.events.events.len(), KEPT_EVENTS + 1);
            } else {
                record.clear();
            }
            assert_reset(&record);
            let extras = record.extras.as_ref().expect("the extras box is kept");
            assert_eq!(extras.events.capacity(), 0, "a long list is given away");
            assert_eq!(record.attributes.capacity(), 0, "a long list is given away");
        }
    }

    #[test]
    fn the_collector_resets_what_spans_do_not_write_on_every_path() {
        use crate::logs::LOG_EVENT;

        let scope = InstrumentationScope::builder("spanflow").build();
        let mut converted = used();
        let data = converted.take_span_data(WallAnchor::new(), &scope);
        assert_eq!(data.name, "GET /orders/{id}");
        assert_eq!(data.status, Status::error("failed"));
        assert_eq!(data.span_context.trace_state().header(), "ot=th:8");
        let events: Vec<_> = data.events.iter().map(|event| &event.name).collect();
        assert_eq!(events, ["e", "at", LOG_EVENT], "in the order they came");
        assert_eq!(
            data.events.events[1].timestamp, data.events.events[2].timestamp,
            "timed by the span's clock, as the log line at the same tick"
        );
        assert!(
            data.attributes
                .iter()
                .any(|kv| kv.key.as_str() == attributes::POLLS)
        );
        assert_reset(&converted);

        let mut encoded = used();
        encoded.clear();
        assert_reset(&encoded);
    }

    #[test]
    fn future_clocks_split_the_span_into_queued_busy_and_idle() {
        let start = clock::now();
        let polled = FutureClocks {
            queued_from: start,
            first_poll: Some(start + 3_000),
            busy_ticks: 4_000,
            polls: 2,
        };
        let end = start + 10_000;
        let timing = polled.timing(end);
        assert_eq!(timing.polls, 2);
        assert_eq!(timing.queued_ns, clock::nanos_between(start, start + 3_000));
        assert_eq!(timing.busy_ns, clock::nanos_between(0, 4_000));
        assert_eq!(
            timing.busy_ns + timing.idle_ns,
            clock::nanos_between(start + 3_000, end)
        );

        let never_polled = FutureClocks {
            first_poll: None,
            ..polled
        };
        assert_eq!(
            never_polled.timing(end),
            Timing {
                queued_ns: clock::nanos_between(start, end),
                ..Timing::default()
            }
        );

        // More busy time than the span had (ticks from another core): no
        // negative idle time.
        let overcounted = FutureClocks {
            busy_ticks: u64::MAX,
            ..polled
        };
        assert_eq!(overcounted.timing(end).idle_ns, 0);
    }

    #[test]
    fn counts_and_durations_beyond_i64_are_capped() {
        assert_eq!(saturate(u64::MAX), i64::MAX);
        assert_eq!(saturate(7), 7);
    }
}
