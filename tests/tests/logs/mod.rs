//! What the log-bridge tests share: the scenario and its checks.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{Event, SpanId, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::PipelineGuard;

/// The lines a formatter wrote.
pub type Lines = Arc<Mutex<Vec<String>>>;

pub fn install() -> (InMemorySpanExporter, PipelineGuard) {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .install()
        .expect("the only pipeline of this binary");
    (exporter, pipeline)
}

/// `(level, message)` of each log event of `span`, in order.
pub fn log_events(span: &SpanData) -> Vec<(String, String)> {
    span.events
        .iter()
        .filter(|event| event.name == "log")
        .map(|event| {
            let get = |key: &str| {
                event
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.to_string())
                    .unwrap_or_default()
            };
            (get("level"), get("message"))
        })
        .collect()
}

/// The log event of `span` whose message is `message`.
pub fn line<'a>(span: &'a SpanData, message: &str) -> Option<&'a Event> {
    span.events.iter().find(|event| {
        event
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "message" && kv.value.as_str() == message)
    })
}

/// Asserts that the log event of `span` whose message is `message` has
/// each of `fields`.
pub fn assert_fields(span: &SpanData, message: &str, fields: &[KeyValue]) {
    let line = line(span, message).unwrap_or_else(|| panic!("no line {message:?}"));
    for field in fields {
        assert!(line.attributes.contains(field), "{field:?} in {line:?}");
    }
}

/// The attribute `key` of the log event of `span` whose message is
/// `message`, as text.
pub fn event_attribute(span: &SpanData, message: &str, key: &str) -> Option<String> {
    let event = line(span, message)?;
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

pub fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

/// The `trace_id=… span_id=…` a formatted line carries.
pub fn ids_in(line: &str) -> Option<(TraceId, SpanId)> {
    let trace = line.split("trace_id=").nth(1)?.get(..32)?;
    let span = line.split("span_id=").nth(1)?.get(..16)?;
    Some((TraceId::from_hex(trace).ok()?, SpanId::from_hex(span).ok()?))
}

/// Checks the scenario every bridge test runs (see `scenario` in each):
/// events on the right spans across an await and a spawned task, levels
/// kept, DEBUG below the event level, and every formatted line's ids
/// those of the span it was logged in.
pub fn check(exporter: &InMemorySpanExporter, pipeline: &PipelineGuard, lines: &Lines) {
    pipeline.flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let handler = span(&spans, "handler");
    let child = span(&spans, "reserve");
    let sync = span(&spans, "price");
    let level = |l: &str, m: &str| (l.to_owned(), m.to_owned());
    assert_eq!(
        log_events(handler),
        [level("INFO", "received"), level("INFO", "after the await")]
    );
    assert_eq!(log_events(child), [level("WARN", "stock low")]);
    assert_eq!(log_events(sync), [level("ERROR", "no price")]);
    let trace = handler.span_context.trace_id();
    assert!(
        spans
            .iter()
            .all(|span| span.span_context.trace_id() == trace)
    );
    assert_eq!(
        attribute(child, "items"),
        None,
        "fields go on the event, not the span"
    );

    let lines = lines.lock().unwrap();
    let line_of = |text: &str| {
        lines
            .iter()
            .find(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} in {lines:?}"))
            .clone()
    };
    for (text, span) in [
        ("received", handler),
        ("after the await", handler),
        ("stock low", child),
        ("no price", sync),
        ("debug detail", child),
    ] {
        assert_eq!(
            ids_in(&line_of(text)),
            Some((trace, span.span_context.span_id())),
            "{text}"
        );
    }
    assert_eq!(ids_in(&line_of("outside")), None, "no trace, no ids");
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}
