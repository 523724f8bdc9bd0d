//! The `log` crate's records as span events.

use std::fmt::Write as _;

use log::kv::{self, VisitSource, VisitValue};
use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};
use opentelemetry::{KeyValue, Value};

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
                match record.args().as_str() {
                    Some(message) => sink.message().push_str(message),
                    None => {
                        let _ = write!(sink.message(), "{}", record.args());
                    }
                }
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
        let mut converted = FieldValue(None);
        value.visit(&mut converted)?;
        if let Some(value) = converted.0 {
            // A record's keys are borrowed for the call only: copied.
            self.0.field(KeyValue::new(key.as_str().to_owned(), value));
        }
        Ok(())
    }
}

/// A key-value's value as OpenTelemetry's: numbers and booleans as they
/// are, anything else as the text it displays as.
struct FieldValue(Option<Value>);

impl<'v> VisitValue<'v> for FieldValue {
    fn visit_any(&mut self, value: kv::Value<'_>) -> Result<(), kv::Error> {
        self.0 = Some(Value::from(value.to_string()));
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), kv::Error> {
        self.0 = Some(Value::from(value));
        Ok(())
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), kv::Error> {
        self.0 = Some(match i64::try_from(value) {
            Ok(value) => Value::from(value),
            Err(_) => Value::from(value.to_string()),
        });
        Ok(())
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), kv::Error> {
        self.0 = Some(Value::from(value));
        Ok(())
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), kv::Error> {
        self.0 = Some(Value::from(value));
        Ok(())
    }

    fn visit_str(&mut self, value: &str) -> Result<(), kv::Error> {
        self.0 = Some(Value::from(value.to_owned()));
        Ok(())
    }
}
