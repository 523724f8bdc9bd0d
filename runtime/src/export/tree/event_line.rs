//! How a span event reads as one line of a trace tree.

use opentelemetry::trace::Event;

use crate::logs::LOG_EVENT;

/// Characters of an event's text drawn, at most: a tree line is read at a
/// glance, and the whole event is in the exported span.
const DRAWN_AT_MOST: usize = 120;

/// How an event line is painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Severity {
    /// An `ERROR` log line or an exception.
    Error,
    /// A `WARN` log line.
    Warning,
    /// Anything else.
    Plain,
}

/// An event's line: `[LEVEL] message` for a log line (spanflow's bridges,
/// OpenTelemetry's `log` events alike), `[exception] type: message` for
/// an exception, `[event] name` for any other; the first line of the
/// text, cut to [`DRAWN_AT_MOST`] characters.
pub(super) fn describe(event: &Event) -> (Severity, String) {
    let attribute = |key: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str())
    };
    let (severity, text) = if event.name == LOG_EVENT {
        let level = attribute("level").unwrap_or_default();
        let severity = match level.as_ref() {
            "ERROR" => Severity::Error,
            "WARN" => Severity::Warning,
            _ => Severity::Plain,
        };
        let message = attribute("message").unwrap_or_default();
        (severity, format!("[{level}] {message}"))
    } else if event.name == "exception" {
        let text = match (attribute("exception.type"), attribute("exception.message")) {
            (Some(kind), Some(message)) => format!("[exception] {kind}: {message}"),
            (Some(text), None) | (None, Some(text)) => format!("[exception] {text}"),
            (None, None) => "[exception]".to_owned(),
        };
        (Severity::Error, text)
    } else {
        (Severity::Plain, format!("[event] {}", event.name))
    };
    (severity, one_short_line(&text))
}

/// The first line of `text`, at most [`DRAWN_AT_MOST`] characters, marked
/// with `…` where something was left out.
fn one_short_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let mut line: String = first.chars().take(DRAWN_AT_MOST).collect();
    if line.len() < text.trim_end().len() {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use opentelemetry::KeyValue;

    use super::*;

    fn event(name: &'static str, attributes: Vec<KeyValue>) -> Event {
        Event::new(name, SystemTime::UNIX_EPOCH, attributes, 0)
    }

    #[test]
    fn log_lines_read_as_level_and_message() {
        let warn = event(
            LOG_EVENT,
            vec![
                KeyValue::new("level", "WARN"),
                KeyValue::new("message", "stripe timed out, retrying"),
                KeyValue::new("target", "checkout"),
            ],
        );
        assert_eq!(
            describe(&warn),
            (
                Severity::Warning,
                "[WARN] stripe timed out, retrying".into()
            )
        );
        let info = event(LOG_EVENT, vec![KeyValue::new("level", "INFO")]);
        assert_eq!(describe(&info), (Severity::Plain, "[INFO] ".into()));
    }

    #[test]
    fn exceptions_and_other_events() {
        let exception = event(
            "exception",
            vec![
                KeyValue::new("exception.type", "io::Error"),
                KeyValue::new("exception.message", "broken pipe"),
            ],
        );
        assert_eq!(
            describe(&exception),
            (Severity::Error, "[exception] io::Error: broken pipe".into())
        );
        assert_eq!(
            describe(&event("cache.miss", Vec::new())),
            (Severity::Plain, "[event] cache.miss".into())
        );
    }

    #[test]
    fn long_or_many_lined_text_is_cut() {
        let long = "x".repeat(500);
        let (_, line) = describe(&event(
            LOG_EVENT,
            vec![
                KeyValue::new("level", "ERROR"),
                KeyValue::new("message", long),
            ],
        ));
        assert_eq!(line.chars().count(), DRAWN_AT_MOST + 1);
        assert!(line.ends_with('…'));
        let (_, line) = describe(&event(
            LOG_EVENT,
            vec![
                KeyValue::new("level", "ERROR"),
                KeyValue::new("message", "first\nsecond"),
            ],
        ));
        assert_eq!(line, "[ERROR] first…");
    }
}
