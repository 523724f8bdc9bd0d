//! The `log` crate's records as span events.

use std::fmt::Write as _;

use log::kv::{self, VisitSource, VisitValue};
use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};
use opentelemetry::Value;

use crate::log_event::{LogSink, TargetName};

/// A `log::Log` that records each log line on the current span, then
/// hands it to your logger unchanged. A record's key-values
/// (`log::info!(order = 7; "charged")`, the `log` crate's `kv` feature)
/// become attributes of its event beside `level`, `message` and `target`:
/// integers, floats and booleans as they are, other values as the text
/// they display as.
///
/// ```
/// struct Stdout;
/// impl log::Log for Stdout {
///     fn enabled(&self, _: &log::Metadata) -> bool { true }
///     fn log(&self, record: &log::Record) {
///         println!("{} {} {}", record.level(), spanflow::logs::trace_ids(), record.args());
///     }
///     fn flush(&self) {}
/// }
///
/// spanflow::logs::LogBridge::new(Stdout).install().expect("the first logger");
/// ```
#[derive(Debug)]
pub struct LogBridge<L> {
    inner: L,
    events: LevelFilter,
}

impl<L: Log + 'static> LogBridge<L> {
    /// Wraps `inner`; lines at INFO and above become span events.
    pub fn new(inner: L) -> Self {
        LogBridge {
            inner,
            events: LevelFilter::Info,
        }
    }

    /// Which lines become span events (the logger still decides what it
    /// prints).
    pub fn with_event_level(mut self, level: LevelFilter) -> Self {
        self.events = level;
        self
    }

    /// Installs the bridge as the `log` crate's logger (and lets every
    /// level through to it: filtering stays with your logger and
    /// [`with_event_level`](Self::with_event_level)).
    pub fn install(self) -> Result<(), SetLoggerError> {
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(LevelFilter::Trace);
        Ok(())
    }
}

impl<L: Log> Log for LogBridge<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.events || self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if record.level() <= self.events {
            let level = match record.level() {
                log::Level::Error => "ERROR",
                log::Level::Warn => "WARN",
                log::Level::Info => "INFO",
                log::Level::Debug => "DEBUG",
                log::Level::Trace => "TRACE",
            };
            // The target is the module's path unless the call named one:
            // then the static path serves, with no copy.
            let target = match record.module_path_static() {
                Some(path) if path == record.target() => TargetName::Static(path),
                _ => TargetName::Borrowed(record.target()),
            };
            super::record(level, target, |sink| {
                // A message without arguments needs no formatting.
                sink.message(|into| match record.args().as_str() {
                    Some(message) => into.push_str(message),
                    None => {
                        let _ = write!(into, "{}", record.args());
                    }
                });
                // Its key-values (`log::info!(order = 7; "charged")`) are
                // the line's fields.
                let _ = record.key_values().visit(&mut Fields(sink));
            });
        }
        if self.inner.enabled(record.metadata()) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Writes a record's key-values into a line as its fields.
struct Fields<'a, 'b>(&'a mut LogSink<'b>);

impl<'kvs> VisitSource<'kvs> for Fields<'_, '_> {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        // A record's keys are borrowed for the call only: copied.
        value.visit(FieldValue {
            key: key.as_str(),
            sink: self.0,
        })
    }
}

/// Adds a key-value's value to a line as OpenTelemetry's: numbers and
/// booleans as they are, anything else as the text it displays as.
struct FieldValue<'a, 'b, 'k> {
    key: &'k str,
    sink: &'a mut LogSink<'b>,
}

impl FieldValue<'_, '_, '_> {
    fn add(&mut self, value: Value) -> Result<(), kv::Error> {
        self.sink.field(self.key.to_owned(), value);
        Ok(())
    }
}

impl<'v> VisitValue<'v> for FieldValue<'_, '_, '_> {
    fn visit_any(&mut self, value: kv::Value<'_>) -> Result<(), kv::Error> {
        self.sink.text_field(self.key.to_owned(), |into| {
            let _ = write!(into, "{value}");
        });
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), kv::Error> {
        self.add(Value::from(value))
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), kv::Error> {
        match i64::try_from(value) {
            Ok(value) => self.add(Value::from(value)),
            Err(_) => self.visit_any(kv::Value::from(value)),
        }
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), kv::Error> {
        self.add(Value::from(value))
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), kv::Error> {
        self.add(Value::from(value))
    }

    fn visit_str(&mut self, value: &str) -> Result<(), kv::Error> {
        self.sink
            .text_field(self.key.to_owned(), |into| into.push_str(value));
        Ok(())
    }
}
