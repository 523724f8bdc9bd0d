//! A log line as a span's record keeps it until the collector: its level
//! and target, its message and fields in buffers the record recycles, and
//! its time in the span's clock ticks.
//!
//! An OpenTelemetry `Event` per line cost the application thread three
//! allocations (the message, its cut to size by `Value`, the attribute
//! list) and two more per string field, each freed by the export thread,
//! so each took the allocator's slow path, and a wall-clock read. Kept like
//! this, with string fields as text beside the message, a line allocates
//! nothing on its thread once warm (but a `log` record's keys, which it
//! only borrows); the collector makes the `Event` for `SpanData`
//! exporters, and spanflow's OTLP processor encodes the line from here
//! without making one.

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
    /// Where the line's text begins: its target's, message's and text
    /// fields' text is all after it.
    text_start: u32,
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
        LineStart {
            text: self.text_start,
            field: self.first_field,
        }
    }
}

/// Where a line begins in its buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LineStart {
    text: u32,
    field: u32,
}

/// The text and fields of log lines: a record's (kept with the box), or a
/// thread's for the lines of its entered spans (`current::LOG_BUFFERS`).
#[derive(Debug)]
pub(crate) struct LogBuffers {
    text: String,
    fields: Vec<LogField>,
}

/// One of a line's fields.
#[derive(Clone, Debug, PartialEq)]
struct LogField {
    key: Key,
    value: FieldValue,
}

/// A field's value: a string, as text in the buffers, or any other.
#[derive(Clone, Debug, PartialEq)]
enum FieldValue {
    Text(TextRange),
    Value(Value),
}

/// One attribute of a line's event.
pub(crate) enum LogAttribute<'a> {
    /// `level`, `message`, `target` or a string field, with its value.
    Text(&'a str, &'a str),
    Value(&'a str, &'a Value),
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
    message: TextRange,
}

impl LogSink<'_> {
    /// Writes the message (`write` appends it to the text it is given).
    pub(crate) fn message(&mut self, write: impl FnOnce(&mut String)) {
        self.message = self.buffers.append_text(write);
    }

    /// Adds a field with a string value, which `write` appends to the text
    /// it is given.
    pub(crate) fn text_field(&mut self, key: impl Into<Key>, write: impl FnOnce(&mut String)) {
        let value = FieldValue::Text(self.buffers.append_text(write));
        self.buffers.fields.push(LogField {
            key: key.into(),
            value,
        });
    }

    /// Adds a field with any other value.
    pub(crate) fn field(&mut self, key: impl Into<Key>, value: Value) {
        let value = match value {
            Value::String(text) => {
                return self.text_field(key, |into| into.push_str(text.as_str()));
            }
            value => FieldValue::Value(value),
        };
        self.buffers.fields.push(LogField {
            key: key.into(),
            value,
        });
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
        let text_start = offset(self.text.len());
        let first_field = offset(self.fields.len());
        let target = match target {
            TargetName::Static(target) => LogTarget::Static(target),
            TargetName::Borrowed(target) => LogTarget::Text(self.push_text(target)),
        };
        let mut sink = LogSink {
            buffers: self,
            message: TextRange::default(),
        };
        fill(&mut sink);
        let message = sink.message;
        LogEvent {
            time,
            level,
            target,
            message,
            text_start,
            first_field,
            end_field: offset(self.fields.len()),
            kept_base: 3,
            dropped: 0,
        }
    }

    fn push_text(&mut self, text: &str) -> TextRange {
        self.append_text(|into| into.push_str(text))
    }

    fn append_text(&mut self, write: impl FnOnce(&mut String)) -> TextRange {
        let start = offset(self.text.len());
        write(&mut self.text);
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
        let text_start = offset(self.text.len());
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
            let LogField { key, value } = take_field(field);
            let value = match value {
                FieldValue::Text(range) => {
                    FieldValue::Text(self.push_text(limits.cut_text(range.of(&from.text))))
                }
                FieldValue::Value(mut value) => {
                    limits.cut_value(&mut value);
                    FieldValue::Value(value)
                }
            };
            self.fields.push(LogField { key, value });
        }
        let kept_base = allowed.min(3);
        let dropped = (3 - kept_base) + (fields.len() - kept_fields);
        LogEvent {
            time: line.time,
            level: limits.cut_text(line.level),
            target,
            message,
            text_start,
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
        for field in fields {
            let LogField { key, value } = take_field(field);
            let value = match value {
                FieldValue::Text(range) => Value::from(range.of(&self.text).to_owned()),
                FieldValue::Value(value) => value,
            };
            attributes.push(KeyValue::new(key, value));
        }
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
        let text = &self.text;
        base.into_iter()
            .take(line.kept_base as usize)
            .map(|(key, value)| LogAttribute::Text(key, value))
            .chain(fields.iter().map(move |field| match &field.value {
                FieldValue::Text(range) => LogAttribute::Text(field.key.as_str(), range.of(text)),
                FieldValue::Value(value) => LogAttribute::Value(field.key.as_str(), value),
            }))
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
fn take_field(field: &mut LogField) -> LogField {
    std::mem::replace(field, taken_field())
}

fn taken_field() -> LogField {
    LogField {
        key: Key::from_static_str(""),
        value: FieldValue::Text(TextRange::default()),
    }
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
        sink.message(|into| into.push_str(message));
        for field in fields {
            sink.field(field.key, field.value);
        }
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
                sink.message(|into| into.push_str("charged"));
                sink.field("order", Value::from(7));
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
        let mut sink = LogSink {
            buffers: &mut buffers,
            message: TextRange::default(),
        };
        sink.text_field("a", |into| into.push_str("line"));
        buffers.clear();
        assert!(buffers.text.is_empty() && buffers.fields.is_empty());
        assert!(buffers.text.capacity() >= 4 && buffers.fields.capacity() >= 1);

        let mut sink = LogSink {
            buffers: &mut buffers,
            message: TextRange::default(),
        };
        sink.message(|into| into.push_str(&"x".repeat(KEPT_TEXT + 1)));
        for n in 0..=KEPT_FIELDS as i64 {
            sink.field("n", Value::from(n));
        }
        buffers.clear();
        assert_eq!(buffers.text.capacity(), 0);
        assert_eq!(buffers.fields.capacity(), 0);
    }
}
