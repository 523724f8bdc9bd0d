//! `tracing` events as span events, and trace ids in formatted lines.

use std::fmt::{self, Write as _};

use opentelemetry::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::log_event::{LogSink, TargetName};

/// A `tracing_subscriber` layer that records each event on the current
/// span (spanflow's, or an OpenTelemetry API span), with its level,
/// message, target and fields.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(spanflow::logs::SpanEventLayer::new())
///     .with(
///         tracing_subscriber::fmt::layer()
///             .event_format(spanflow::logs::WithTraceIds::new(tracing_subscriber::fmt::format())),
///     );
/// tracing::subscriber::set_global_default(subscriber).expect("the first subscriber");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SpanEventLayer {
    most_verbose: Level,
}

impl SpanEventLayer {
    /// Events at INFO and above become span events.
    pub fn new() -> Self {
        SpanEventLayer {
            most_verbose: Level::INFO,
        }
    }

    /// Events at `level` and above become span events.
    pub fn with_level(mut self, level: Level) -> Self {
        self.most_verbose = level;
        self
    }
}

impl Default for SpanEventLayer {
    fn default() -> Self {
        SpanEventLayer::new()
    }
}

impl<S: Subscriber> Layer<S> for SpanEventLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        // tracing orders levels by verbosity: TRACE is the greatest.
        if *metadata.level() > self.most_verbose {
            return;
        }
        let level = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        // An event's metadata is static: its target needs no copy.
        super::record(level, TargetName::Static(metadata.target()), |sink| {
            event.record(&mut Fields(sink));
        });
    }
}

/// Writes an event's message and fields into a line.
struct Fields<'a, 'b>(&'a mut LogSink<'b>);

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.message(|into| into.push_str(value));
        } else {
            self.0.text_field(field.name(), |into| into.push_str(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.field(field.name(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.0.field(field.name(), Value::from(value)),
            Err(_) => self.0.text_field(field.name(), |into| {
                let _ = write!(into, "{value}");
            }),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.field(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.field(field.name(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let write = |into: &mut String| {
            let _ = write!(into, "{value:?}");
        };
        if field.name() == "message" {
            self.0.message(write);
        } else {
            self.0.text_field(field.name(), write);
        }
    }
}

/// A tracing-subscriber event format that writes `trace_id=… span_id=… `
/// (of the current span, when there is one) before what `inner` writes.
#[derive(Clone, Debug)]
pub struct WithTraceIds<E> {
    inner: E,
}

impl<E> WithTraceIds<E> {
    /// Prefixes `inner`'s lines with the current trace and span ids.
    pub fn new(inner: E) -> Self {
        WithTraceIds { inner }
    }
}

impl<S, N, E> FormatEvent<S, N> for WithTraceIds<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = super::trace_ids();
        if ids.0.is_some() {
            write!(writer, "{ids} ")?;
        }
        self.inner.format_event(context, writer, event)
    }
}
