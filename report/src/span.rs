//! One span as the reports see it: ids, timing, outcome, and the span's and
//! its resource's attributes, and its events.

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// A finished span, flattened for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRow {
    /// The trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its parent (INVALID for a root).
    pub parent_span_id: SpanId,
    /// Whether the parent is in another process (`flags` bit 9 of OTLP).
    pub parent_is_remote: bool,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// Start, Unix nanoseconds.
    pub start_ns: u64,
    /// End, Unix nanoseconds.
    pub end_ns: u64,
    /// Status Error, or an `exception` event.
    pub error: bool,
    /// The span's attributes, then its resource's (`service.name`, ...).
    pub attributes: Vec<(String, AttributeValue)>,
    /// Its events (log lines, exceptions), in the order they were added.
    pub events: Vec<EventRow>,
}

/// A span event, as the trees draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// When it happened, Unix nanoseconds.
    pub time_ns: u64,
    /// Its name (`log` for a log line through spanflow's bridges).
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<(String, AttributeValue)>,
}

/// An attribute value as the reports need it.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl AttributeValue {
    /// The value as text, for grouping.
    pub fn to_text(&self) -> String {
        match self {
            AttributeValue::Str(text) => text.clone(),
            AttributeValue::Int(number) => number.to_string(),
            AttributeValue::Float(number) => number.to_string(),
            AttributeValue::Bool(flag) => flag.to_string(),
        }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttributeValue::Int(number) => Some(*number as f64),
            AttributeValue::Float(number) => Some(*number),
            AttributeValue::Str(text) => text.parse().ok(),
            AttributeValue::Bool(_) => None,
        }
    }
}

impl SpanRow {
    /// Duration in nanoseconds (0 when the clock went backwards).
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// The first attribute named `key` (span attributes before resource).
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// A numeric attribute.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.attribute(key).and_then(AttributeValue::as_f64)
    }

    /// Whether the span is where a request enters this process: no parent,
    /// or a parent in another process.
    pub fn is_local_root(&self) -> bool {
        self.parent_span_id == SpanId::INVALID || self.parent_is_remote
    }
}

/// A span of the embedded store (`PipelineGuard::store()`), or any span an
/// exporter receives: in-process reports need no file. Resource attributes
/// are not part of `SpanData`; group by span attributes then.
impl From<&SpanData> for SpanRow {
    fn from(span: &SpanData) -> SpanRow {
        let nanos = |time: std::time::SystemTime| {
            time.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64)
        };
        SpanRow {
            trace_id: span.span_context.trace_id(),
            span_id: span.span_context.span_id(),
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_span_is_remote,
            name: span.name.to_string(),
            kind: span.span_kind.clone(),
            start_ns: nanos(span.start_time),
            end_ns: nanos(span.end_time),
            error: matches!(span.status, Status::Error { .. })
                || span.events.iter().any(|event| event.name == "exception"),
            attributes: rows_of(&span.attributes),
            events: span
                .events
                .iter()
                .map(|event| EventRow {
                    time_ns: nanos(event.timestamp),
                    name: event.name.to_string(),
                    attributes: rows_of(&event.attributes),
                })
                .collect(),
        }
    }
}

/// Attributes as the reports keep them (arrays left out).
fn rows_of(attributes: &[KeyValue]) -> Vec<(String, AttributeValue)> {
    attributes
        .iter()
        .filter_map(|kv| {
            let value = match &kv.value {
                Value::String(text) => AttributeValue::Str(text.to_string()),
                Value::I64(number) => AttributeValue::Int(*number),
                Value::F64(number) => AttributeValue::Float(*number),
                Value::Bool(flag) => AttributeValue::Bool(*flag),
                _ => return None,
            };
            Some((kv.key.to_string(), value))
        })
        .collect()
}
