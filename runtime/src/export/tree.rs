//! Drawing a trace as a tree in a terminal.

mod event_line;

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

use self::event_line::Severity;
use super::trace::Trace;

/// The service a client span called: the name spanflow-http writes and
/// backends' service graphs read (the conventions' newer name,
/// `service.peer.name`, is still experimental).
const PEER_SERVICE: &str = "peer.service";

/// Events drawn under a span, at most (the first ones); the rest are
/// counted on one line.
const EVENTS_DRAWN: usize = 8;

/// How a tree is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeStyle {
    /// ANSI colours: errors red, the slowest path bold yellow, times dim.
    pub colour: bool,
}

impl TreeStyle {
    /// No colours.
    pub const PLAIN: TreeStyle = TreeStyle { colour: false };

    /// Colours when `stream` is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stream(stream: &impl IsTerminal) -> Self {
        TreeStyle::decide(
            stream.is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    fn decide(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Self {
        let no_color = no_color.is_some_and(|value| !value.is_empty());
        TreeStyle {
            colour: is_terminal && !no_color,
        }
    }
}

/// Draws `trace`: a header with the root's name and the trace's duration,
/// then every span with its offsets from the trace start, its kind (unless
/// internal), the service it called (`peer.service`), cancellation and
/// error status; spans on the slowest path (the
/// longest child at each level) are starred. A span's events (log lines,
/// exceptions) are drawn among its children at their time, up to
/// eight a span.
///
/// ```text
/// Trace: "POST /checkout" 920ms
/// ├── api_gateway.validate_request (0ms - 5ms)
/// ├── auth_service.verify_token (5ms - 45ms) client
/// │   └── redis.check_token_cache (10ms - 12ms) client → redis
/// └── * payment_service.charge (45ms - 900ms) client
///     ├── external.stripe_api (45ms - 445ms) client cancelled
///     ├── [WARN] stripe timed out, retrying (445ms)
///     └── * external.stripe_api (445ms - 900ms) client
/// ```
pub fn render_tree(trace: &Trace, style: TreeStyle) -> String {
    let mut out = String::new();
    let Some(start) = trace.start() else {
        return out;
    };
    let painter = Painter { style };
    let slowest = trace.slowest_path();
    let tops = trace.tops();
    let title = trace.root().map_or("?", |root| root.name.as_ref());
    let _ = writeln!(
        out,
        "Trace: \"{}\" {}  {}",
        painter.bold(title),
        format_duration(trace.duration()),
        painter.dim(&format!(
            "trace_id={} spans={}",
            trace.trace_id(),
            trace.spans().len()
        )),
    );
    let mut drawer = Drawer {
        trace,
        start,
        slowest: &slowest,
        painter,
        out: &mut out,
    };
    for (index, top) in tops.iter().enumerate() {
        let last = index + 1 == tops.len();
        // The root's children hang directly under the header, as in the
        // seed; further top spans (orphans) are drawn beside them.
        if index == 0 {
            drawer.children(top, "", &mut vec![], tops.len() == 1);
        } else {
            drawer.line(top, "", last, &mut vec![]);
        }
    }
    if !slowest.is_empty() && trace.spans().len() > 1 {
        let _ = writeln!(out, "{}", painter.dim("(* marks the slowest path)"));
    }
    out
}

#[derive(Clone, Copy)]
struct Painter {
    style: TreeStyle,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.style.colour {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    fn slow(&self, text: &str) -> String {
        self.paint("1;33", text)
    }

    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
}

/// What hangs under a span, in time order.
enum Below<'a> {
    Span(&'a SpanData),
    Event(&'a Event),
    /// Events not drawn: beyond [`EVENTS_DRAWN`], or dropped by the limits.
    MoreEvents(u64),
}

struct Drawer<'a> {
    trace: &'a Trace,
    start: SystemTime,
    slowest: &'a [SpanId],
    painter: Painter,
    out: &'a mut String,
}

impl Drawer<'_> {
    fn children(
        &mut self,
        parent: &SpanData,
        prefix: &str,
        seen: &mut Vec<SpanId>,
        last_group: bool,
    ) {
        let children = self.trace.children(parent.span_context.span_id());
        let mut below: Vec<(SystemTime, Below<'_>)> = children
            .map(|child| (child.start_time, Below::Span(child)))
            .collect();
        let events = &parent.events;
        let drawn = events.events.len().min(EVENTS_DRAWN);
        below.extend(
            events.events[..drawn]
                .iter()
                .map(|event| (event.timestamp, Below::Event(event))),
        );
        // Stable: a span and an event at the same time keep that order.
        below.sort_by_key(|(at, _)| *at);
        let more = (events.events.len() - drawn) as u64 + u64::from(events.dropped_count);
        if more > 0 {
            below.push((parent.end_time, Below::MoreEvents(more)));
        }
        for (index, (_, item)) in below.iter().enumerate() {
            let last = index + 1 == below.len() && last_group;
            match item {
                Below::Span(child) => self.line(child, prefix, last, seen),
                Below::Event(event) => self.event_line(event, prefix, last),
                Below::MoreEvents(count) => {
                    let text = format!("[{count} more events]");
                    let _ = writeln!(
                        self.out,
                        "{prefix}{}{}",
                        branch(last),
                        self.painter.dim(&text)
                    );
                }
            }
        }
    }

    fn event_line(&mut self, event: &Event, prefix: &str, last: bool) {
        let branch = branch(last);
        let (severity, text) = event_line::describe(event);
        let text = match severity {
            Severity::Error => self.painter.red(&text),
            Severity::Warning => self.painter.yellow(&text),
            Severity::Plain => text,
        };
        let at = format!("({})", format_duration(offset(self.start, event.timestamp)));
        let _ = writeln!(self.out, "{prefix}{branch}{text} {}", self.painter.dim(&at));
    }

    fn line(&mut self, span: &SpanData, prefix: &str, last: bool, seen: &mut Vec<SpanId>) {
        let id = span.span_context.span_id();
        if seen.contains(&id) {
            return;
        }
        seen.push(id);
        let branch = branch(last);
        let on_slowest = self.slowest.contains(&id);
        let name = if on_slowest {
            self.painter.slow(&format!("* {}", span.name))
        } else {
            span.name.to_string()
        };
        let times = format!(
            "({} - {})",
            format_duration(offset(self.start, span.start_time)),
            format_duration(offset(self.start, span.end_time)),
        );
        let kind = match span.span_kind {
            SpanKind::Internal => "",
            SpanKind::Client => " client",
            SpanKind::Server => " server",
            SpanKind::Producer => " producer",
            SpanKind::Consumer => " consumer",
        };
        // The service a call went to, when named: an HTTP client span's
        // name is only its method.
        let peer = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == PEER_SERVICE)
            .map(|kv| format!(" → {}", kv.value))
            .unwrap_or_default();
        let cancelled = span.attributes.iter().any(|kv| {
            kv.key.as_str() == crate::attributes::CANCELLED
                && kv.value == opentelemetry::Value::Bool(true)
        });
        let cancelled = if cancelled {
            self.painter.dim(" cancelled")
        } else {
            String::new()
        };
        let status = match &span.status {
            Status::Error { description } if description.is_empty() => self.painter.red(" ERROR"),
            Status::Error { description } => self.painter.red(&format!(" ERROR: {description}")),
            _ => String::new(),
        };
        let _ = writeln!(
            self.out,
            "{prefix}{branch}{name} {}{kind}{peer}{cancelled}{status}",
            self.painter.dim(&times)
        );
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        self.children(span, &child_prefix, seen, true);
    }
}

/// The branch that leads to a line: the last under its parent closes it.
fn branch(last: bool) -> &'static str {
    if last { "└── " } else { "├── " }
}

fn offset(start: SystemTime, at: SystemTime) -> Duration {
    at.duration_since(start).unwrap_or_default()
}

/// Whole milliseconds from 10 ms, one decimal below.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1e3;
    if millis >= 10.0 || millis == 0.0 {
        format!("{millis:.0}ms")
    } else {
        format!("{millis:.1}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::trace::tests::timed;

    #[test]
    fn draws_the_seed_shape_with_the_slowest_path_starred() {
        let mut verify = timed(1, 3, 1, 5, 45, "auth_service.verify_token");
        verify.span_kind = SpanKind::Client;
        verify
            .attributes
            .push(opentelemetry::KeyValue::new(PEER_SERVICE, "auth"));
        let mut charge = timed(1, 5, 1, 45, 900, "payment_service.charge");
        charge.status = Status::error("card declined");
        let trace = Trace::new(vec![
            timed(1, 1, 0, 0, 920, "POST /checkout"),
            timed(1, 2, 1, 0, 5, "api_gateway.validate_request"),
            verify,
            timed(1, 4, 3, 10, 12, "redis.check_token_cache"),
            charge,
        ]);
        let drawn = render_tree(&trace, TreeStyle::PLAIN);
        let expected = "\
Trace: \"POST /checkout\" 920ms  trace_id=00000000000000000000000000000001 spans=5
├── api_gateway.validate_request (0ms - 5.0ms)
├── auth_service.verify_token (5.0ms - 45ms) client → auth
│   └── redis.check_token_cache (10ms - 12ms)
└── * payment_service.charge (45ms - 900ms) ERROR: card declined
(* marks the slowest path)
";
        assert_eq!(drawn, expected);
    }

    fn log(level: &'static str, message: &'static str, at_ms: u64) -> Event {
        Event::new(
            crate::logs::LOG_EVENT,
            std::time::UNIX_EPOCH + Duration::from_millis(at_ms),
            vec![
                opentelemetry::KeyValue::new("level", level),
                opentelemetry::KeyValue::new("message", message),
            ],
            0,
        )
    }

    #[test]
    fn events_hang_under_their_span_at_their_time() {
        let mut root = timed(1, 1, 0, 0, 920, "POST /checkout");
        root.events
            .events
            .push(log("INFO", "checkout for user 7", 1));
        let mut charge = timed(1, 2, 1, 45, 900, "payment_service.charge");
        charge
            .events
            .events
            .push(log("WARN", "stripe timed out, retrying", 444));
        let trace = Trace::new(vec![
            root,
            charge,
            timed(1, 3, 2, 45, 445, "external.stripe_api"),
            timed(1, 4, 2, 445, 900, "external.stripe_api"),
        ]);
        let expected = "\
Trace: \"POST /checkout\" 920ms  trace_id=00000000000000000000000000000001 spans=4
├── [INFO] checkout for user 7 (1.0ms)
└── * payment_service.charge (45ms - 900ms)
    ├── external.stripe_api (45ms - 445ms)
    ├── [WARN] stripe timed out, retrying (444ms)
    └── * external.stripe_api (445ms - 900ms)
(* marks the slowest path)
";
        assert_eq!(render_tree(&trace, TreeStyle::PLAIN), expected);
        let coloured = render_tree(&trace, TreeStyle { colour: true });
        assert!(coloured.contains("\u{1b}[33m[WARN] stripe timed out, retrying"));
    }

    #[test]
    fn events_beyond_the_first_eight_are_counted() {
        let mut root = timed(1, 1, 0, 0, 100, "busy");
        for at in 0..10 {
            root.events.events.push(log("INFO", "step", at));
        }
        root.events.dropped_count = 2;
        let trace = Trace::new(vec![root, timed(1, 2, 1, 50, 60, "child")]);
        let drawn = render_tree(&trace, TreeStyle::PLAIN);
        assert_eq!(drawn.matches("[INFO] step").count(), EVENTS_DRAWN);
        assert!(
            drawn.ends_with(
                "├── * child (50ms - 60ms)\n└── [4 more events]\n(* marks the slowest path)\n"
            ),
            "{drawn}"
        );
    }

    #[test]
    fn colour_on_a_terminal_unless_no_color_is_set() {
        use std::ffi::OsStr;
        assert!(TreeStyle::decide(true, None).colour);
        assert!(
            TreeStyle::decide(true, Some(OsStr::new(""))).colour,
            "an empty NO_COLOR is unset"
        );
        assert!(!TreeStyle::decide(true, Some(OsStr::new("1"))).colour);
        assert!(
            !TreeStyle::decide(false, None).colour,
            "never into a pipe or file"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let trace = Trace::new(vec![timed(1, 1, 0, 0, 10, "a"), timed(1, 2, 1, 0, 5, "b")]);
        assert!(!render_tree(&trace, TreeStyle::PLAIN).contains('\u{1b}'));
        assert!(render_tree(&trace, TreeStyle { colour: true }).contains("\u{1b}[1;33m* b"));
    }
}
