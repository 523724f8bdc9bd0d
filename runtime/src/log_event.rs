//! A log line as a span's record keeps it until the collector: its level
//! and target, its message and fields in buffers the record recycles, and
//! its time in the span's clock ticks.
//!
//! An OpenTelemetry `Event` per line cost the application thread three
//! allocations (the message, its cut to size by `Value`, the attribute
//! list), each freed by the export thread, so each took the allocator's
//! slow path, and a wall-clock read. Kept like this, a line allocates
//! nothing on its thread once warm (but what a string field holds); the
//! collector makes the `Event` for `SpanData` exporters, and spanflow's
//! OTLP processor encodes the line from here without making one.

use std::time::SystemTime;

use opentelemetry::trace::Event;
use opentelemetry::{Key, KeyValue, Value};

use crate::clock::Ticks;
use crate::limits::Limits;
use crate::logs::LOG_EVENT;

/// Text a recycled record keeps room for, at most, in bytes; a longer
/// buffer is given away (see `record::KEPT_ATTRIBUTES`).
const KEPT_TEXT: usize = 1024;
/// Fields a recycled record keeps room for, at most.
const KEPT_FIELDS: usize = 16;

/// Where a line's text sits in its [`LogBuffers`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextRange {
    start: u32,
    end: u32,
}

impl TextRange {
    fn of(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// A line's target: static for `tracing` events and most `log` records
/// (their module's path), else copied into the buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogTarget {
    Static(&'static str),
    Text(TextRange),
}

/// One log line, its text and fields in a [`LogBuffers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub(crate) time: Ticks,
    pub(crate) level: &'static str,
    target: LogTarget,
    message: TextRange,
    /// The line's own fields, `LogBuffers::fields[first_field..end_field]`.
    first_field: u32,
    end_field: u32,
    /// Of `level`, `message` and `target`, how many the attribute limit
    /// of events lets the line keep (all three unless it is below 3).
    kept_base: u8,
    /// Fields (and base attributes) left out by that limit.
    dropped: u32,
}

impl LogEvent {
    /// The attributes the limits left out of the line's event.
    pub(crate) fn dropped_attributes(&self) -> u32 {
        self.dropped
    }

    /// Where the line's text and fields begin in its buffers.
    pub(crate) fn begins(&self) -> LineStart {
        let text = match self.target {
            LogTarget::Text(target) => target.start,
            LogTarget::Static(_) => self.message.start,
        };
        LineStart {
            text,
            field: self.first_field,
        }
    }
}

/// Where a line begins in its buffers: ordered as the lines were written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LineStart {
    text: u32,
    field: u32,
}

/// The text and fields of log lines: a record's (kept with the box), or a
/// thread's for the lines of its entered spans (`current::LOG_BUFFERS`).
#[derive(Debug)]
pub(crate) struct LogBuffers {
    text: String,
    fields: Vec<KeyValue>,
}

/// One attribute of a line's event.
pub(crate) enum LogAttribute<'a> {
    /// `level`, `message` or `target`, with its string value.
    Base(&'static str, &'a str),
    Field(&'a KeyValue),
}

/// A line's target as the bridges have it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TargetName<'a> {
    Static(&'static str),
    Borrowed(&'a str),
}

/// What a bridge writes a line into: its message and fields go straight
/// into the buffers.
pub(crate) struct LogSink<'a> {
    buffers: &'a mut LogBuffers,
}

impl LogSink<'_> {
    /// Where the message is written (only the message: it must stay
    /// contiguous).
    pub(crate) fn message(&mut self) -> &mut String {
        &mut self.buffers.text
    }

    /// Adds one of the line's fields.
    pub(crate) fn field(&mut self, field: KeyValue) {
        self.buffers.fields.push(field);
    }
}

impl LogBuffers {
    pub(crate) const fn new() -> LogBuffers {
        LogBuffers {
            text: String::new(),
            fields: Vec::new(),
        }
    }

    /// Writes a line into the buffers: its target, then what `fill` writes.
    pub(crate) fn write(
        &mut self,
        time: Ticks,
        level: &'static str,
        target: TargetName<'_>,
        fill: impl FnOnce(&mut LogSink<'_>),
    ) -> LogEvent {
        let target = match target {
            TargetName::Static(target) => LogTarget::Static(target),
            TargetName::Borrowed(target) => LogTarget::Text(self.push_text(target)),
        };
        let message_start = offset(self.text.len());
        let first_field = offset(self.fields.len());
        fill(&mut LogSink { buffers: self });
        LogEvent {
            time,
            level,
            target,
            message: TextRange {
                start: message_start,
                end: offset(self.text.len()),
            },
            first_field,
            end_field: offset(self.fields.len()),
            kept_base: 3,
            dropped: 0,
        }
    }

    fn push_text(&mut self, text: &str) -> TextRange {
        let start = offset(self.text.len());
        self.text.push_str(text);
        TextRange {
            start,
            end: offset(self.text.len()),
        }
    }

    /// Moves `line` from `from` (a thread's buffers) into these (a
    /// record's), held to the limits: its message and field values cut to
    /// the value length, its attributes to the count per event. Its fields
    /// are taken out of `from`, leaving empty ones in their place.
    pub(crate) fn take_from(
        &mut self,
        from: &mut LogBuffers,
        line: LogEvent,
        limits: &Limits,
    ) -> LogEvent {
        // Every string value is cut, as those of an `Event` are; a static
        // one stays static, cut.
        let target = match line.target {
            LogTarget::Static(target) => LogTarget::Static(limits.cut_text(target)),
            LogTarget::Text(range) => {
                LogTarget::Text(self.push_text(limits.cut_text(range.of(&from.text))))
            }
        };
        let message = self.push_text(limits.cut_text(line.message.of(&from.text)));
        let allowed = limits.counts.max_attributes_per_event as usize;
        let fields = from
            .fields
            .get_mut(line.first_field as usize..line.end_field as usize)
            .unwrap_or_default();
        let kept_fields = fields.len().min(allowed.saturating_sub(3));
        let first_field = offset(self.fields.len());
        for field in &mut fields[..kept_fields] {
            let mut field = take_field(field);
            limits.cut(&mut field);
            self.fields.push(field);
        }
        let kept_base = allowed.min(3);
        let dropped = (3 - kept_base) + (fields.len() - kept_fields);
        LogEvent {
            time: line.time,
            level: limits.cut_text(line.level),
            target,
            message,
            first_field,
            end_field: offset(self.fields.len()),
            kept_base: kept_base as u8,
            dropped: u32::try_from(dropped).unwrap_or(u32::MAX),
        }
    }

    /// Makes `line` an OpenTelemetry event at `timestamp`, taking its
    /// fields out of the buffers.
    pub(crate) fn take_event(&mut self, line: LogEvent, timestamp: SystemTime) -> Event {
        let message = line.message.of(&self.text).to_owned();
        self.event_with(line, timestamp, message)
    }

    /// Makes `line`, the only one these buffers hold, an OpenTelemetry
    /// event at `timestamp`: its message keeps the text's allocation when
    /// it is all the text (a static target), instead of a copy.
    pub(crate) fn into_event(mut self, line: LogEvent, timestamp: SystemTime) -> Event {
        let message = if line.message == self.whole_text() {
            std::mem::take(&mut self.text)
        } else {
            line.message.of(&self.text).to_owned()
        };
        self.event_with(line, timestamp, message)
    }

    fn whole_text(&self) -> TextRange {
        TextRange {
            start: 0,
            end: offset(self.text.len()),
        }
    }

    /// `line` as an event with `message`, its fields taken out.
    fn event_with(&mut self, line: LogEvent, timestamp: SystemTime, message: String) -> Event {
        let fields = self
            .fields
            .get_mut(line.first_field as usize..line.end_field as usize)
            .unwrap_or_default();
        let mut attributes = Vec::with_capacity(line.kept_base as usize + fields.len());
        let target = match line.target {
            LogTarget::Static(target) => Value::from(target),
            LogTarget::Text(range) => Value::from(range.of(&self.text).to_owned()),
        };
        let base = [
            KeyValue::new("level", line.level),
            KeyValue::new("message", message),
            KeyValue::new("target", target),
        ];
        attributes.extend(base.into_iter().take(line.kept_base as usize));
        attributes.extend(fields.iter_mut().map(take_field));
        Event::new(LOG_EVENT, timestamp, attributes, line.dropped)
    }

    /// The attributes of `line`'s event, borrowed: what OTLP encoding
    /// needs.
    pub(crate) fn attributes<'a>(
        &'a self,
        line: &LogEvent,
    ) -> impl Iterator<Item = LogAttribute<'a>> + 'a {
        let target = match line.target {
            LogTarget::Static(target) => target,
            LogTarget::Text(range) => range.of(&self.text),
        };
        let base = [
            ("level", line.level),
            ("message", line.message.of(&self.text)),
            ("target", target),
        ];
        let fields = self
            .fields
            .get(line.first_field as usize..line.end_field as usize)
            .unwrap_or_default();
        base.into_iter()
            .take(line.kept_base as usize)
            .map(|(key, value)| LogAttribute::Base(key, value))
            .chain(fields.iter().map(LogAttribute::Field))
    }

    #[cfg(test)]
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty() && self.fields.is_empty()
    }

    /// Drops the lines written from `begins` on (all of them from the
    /// start: then the room kept is bounded as by [`clear`](Self::clear)).
    pub(crate) fn cut(&mut self, begins: LineStart) {
        if begins == LineStart::default() {
            return self.clear();
        }
        // A line's start is a character boundary: text is only appended.
        if self.text.is_char_boundary(begins.text as usize) {
            self.text.truncate(begins.text as usize);
        }
        self.fields.truncate(begins.field as usize);
    }

    /// Empties the buffers for their next lines, keeping their room within
    /// bounds.
    #[inline]
    pub(crate) fn clear(&mut self) {
        // Most spans that add anything add no log line.
        if self.text.is_empty() && self.fields.is_empty() {
            return;
        }
        if self.text.capacity() > KEPT_TEXT {
            self.text = String::new();
        } else {
            self.text.clear();
        }
        if self.fields.capacity() > KEPT_FIELDS {
            self.fields = Vec::new();
        } else {
            self.fields.clear();
        }
    }
}

impl Default for LogBuffers {
    fn default() -> Self {
        LogBuffers::new()
    }
}

/// Takes a line's field out of its buffers, leaving [`taken_field`] (no
/// allocation) in its place until the buffers are cut or cleared.
fn take_field(field: &mut KeyValue) -> KeyValue {
    std::mem::replace(field, taken_field())
}

fn taken_field() -> KeyValue {
    KeyValue::new(Key::from_static_str(""), false)
}

/// A buffer offset as a line keeps it. Buffers past 4 GiB are not held
/// (the value length limit, or memory, ends them first); saturating keeps
/// a range in bounds of nothing rather than wrapping into other text.
fn offset(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// A thread's buffers holding one line, as a bridge writes it.
#[cfg(test)]
pub(crate) fn written(
    time: Ticks,
    level: &'static str,
    target: TargetName<'_>,
    message: &str,
    fields: Vec<KeyValue>,
) -> (LogBuffers, LogEvent) {
    let mut buffers = LogBuffers::new();
    // Text before the line's, as other lines would leave it.
    buffers.text.push_str("an earlier line");
    let line = buffers.write(time, level, target, |sink| {
        sink.message().push_str(message);
        fields.into_iter().for_each(|field| sink.field(field));
    });
    (buffers, line)
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::trace::SpanLimits;

    use super::*;

    fn limits(attributes_per_event: u32, value_length: Option<usize>) -> Limits {
        Limits {
            counts: SpanLimits {
                max_attributes_per_event: attributes_per_event,
                ..SpanLimits::default()
            },
            value_length,
        }
    }

    /// `line` moved into a record's buffers under `limits`, as an event,
    /// and the thread's buffers it left.
    fn recorded(from: (LogBuffers, LogEvent), limits: &Limits) -> (Event, LogBuffers) {
        let (mut thread, line) = from;
        let mut record = LogBuffers::new();
        record.text.push_str("another line's text");
        let line = record.take_from(&mut thread, line, limits);
        (record.take_event(line, SystemTime::UNIX_EPOCH), thread)
    }

    #[test]
    fn a_line_becomes_the_event_the_bridges_made() {
        let line = written(
            5,
            "WARN",
            TargetName::Borrowed("billing"),
            "card declined",
            vec![KeyValue::new("attempt", 2)],
        );
        let (event, thread) = recorded(line, &limits(128, None));
        assert_eq!(event.name, LOG_EVENT);
        assert_eq!(thread.fields, [taken_field()], "the field taken out");
        assert_eq!(
            event.attributes,
            [
                KeyValue::new("level", "WARN"),
                KeyValue::new("message", "card declined"),
                KeyValue::new("target", "billing"),
                KeyValue::new("attempt", 2),
            ]
        );
        assert_eq!(event.dropped_attributes_count, 0);
    }

    #[test]
    fn a_line_alone_in_its_buffers_becomes_the_same_event() {
        for target in [TargetName::Static("shop"), TargetName::Borrowed("shop")] {
            let mut buffers = LogBuffers::new();
            let line = buffers.write(0, "INFO", target, |sink| {
                sink.message().push_str("charged");
                sink.field(KeyValue::new("order", 7));
            });
            let event = buffers.into_event(line, SystemTime::UNIX_EPOCH);
            assert_eq!(
                event.attributes,
                [
                    KeyValue::new("level", "INFO"),
                    KeyValue::new("message", "charged"),
                    KeyValue::new("target", "shop"),
                    KeyValue::new("order", 7),
                ]
            );
        }
    }

    #[test]
    fn a_line_is_held_to_the_event_limits() {
        let fields = || vec![KeyValue::new("a", "abcdef"), KeyValue::new("b", 2)];
        let line = || written(5, "INFO", TargetName::Static("shop"), "ééééé", fields());

        let (event, _) = recorded(line(), &limits(4, Some(3)));
        assert_eq!(
            event.attributes,
            [
                KeyValue::new("level", "INF"),
                KeyValue::new("message", "ééé"),
                KeyValue::new("target", "sho"),
                KeyValue::new("a", "abc"),
            ],
            "every string value cut, one field kept"
        );
        assert_eq!(event.dropped_attributes_count, 1);
        let borrowed = written(5, "INFO", TargetName::Borrowed("shop"), "", Vec::new());
        let (event, _) = recorded(borrowed, &limits(4, Some(3)));
        assert_eq!(event.attributes[2], KeyValue::new("target", "sho"));

        let (event, _) = recorded(line(), &limits(2, None));
        assert_eq!(
            event.attributes,
            [
                KeyValue::new("level", "INFO"),
                KeyValue::new("message", "ééééé"),
            ]
        );
        assert_eq!(event.dropped_attributes_count, 3);
    }

    #[test]
    fn cleared_buffers_keep_their_room_within_bounds() {
        let mut buffers = LogBuffers::new();
        buffers.text.push_str("line");
        buffers.fields.push(KeyValue::new("a", 1));
        buffers.clear();
        assert!(buffers.text.is_empty() && buffers.fields.is_empty());
        assert!(buffers.text.capacity() >= 4 && buffers.fields.capacity() >= 1);

        buffers.text.push_str(&"x".repeat(KEPT_TEXT + 1));
        buffers
            .fields
            .extend((0..=KEPT_FIELDS as i64).map(|n| KeyValue::new("n", n)));
        buffers.clear();
        assert_eq!(buffers.text.capacity(), 0);
        assert_eq!(buffers.fields.capacity(), 0);
    }
}
