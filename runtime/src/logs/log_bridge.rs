//! The `log` crate's records as span events.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;

use log::kv::{self, VisitSource, VisitValue};
use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};
use opentelemetry::{Key, Value};

use crate::interned::interned_name;
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
        let key = kept_key(key.as_str());
        value.visit(FieldValue { key, sink: self.0 })
    }
}

/// The most keys a thread keeps.
const KNOWN_KEYS: usize = 64;

thread_local! {
    static KNOWN_KEYS_OF_THREAD: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// A record's key as an attribute key. The `log` crate lends keys for the
/// call only, but they are few and repeat (`order`, `retried`): each is
/// kept once for the process ([`interned_name`], bounded) and found again
/// in this thread's list (at most [`KNOWN_KEYS`]), where a copy per line
/// was an allocation here and a free on the collector's thread.
fn kept_key(key: &str) -> Key {
    let kept = KNOWN_KEYS_OF_THREAD.try_with(|known| {
        let mut known = known.try_borrow_mut().ok()?;
        if let Some(&kept) = known.iter().find(|&&kept| kept == key) {
            return Some(kept);
        }
        if known.len() >= KNOWN_KEYS {
            return None;
        }
        let Cow::Borrowed(kept) = interned_name(key) else {
            return None;
        };
        known.push(kept);
        Some(kept)
    });
    match kept {
        Ok(Some(kept)) => Key::from_static_str(kept),
        _ => Key::from(key.to_owned()),
    }
}

/// Adds a key-value's value to a line as OpenTelemetry's: numbers and
/// booleans as they are, anything else as the text it displays as.
struct FieldValue<'a, 'b> {
    key: Key,
    sink: &'a mut LogSink<'b>,
}

impl FieldValue<'_, '_> {
    /// The key, taken: a value is visited once.
    fn key(&mut self) -> Key {
        std::mem::replace(&mut self.key, Key::from_static_str(""))
    }

    fn add(&mut self, value: Value) -> Result<(), kv::Error> {
        let key = self.key();
        self.sink.field(key, value);
        Ok(())
    }
}

impl<'v> VisitValue<'v> for FieldValue<'_, '_> {
    fn visit_any(&mut self, value: kv::Value<'_>) -> Result<(), kv::Error> {
        let key = self.key();
        self.sink.text_field(key, |into| {
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
        let key = self.key();
        self.sink.text_field(key, |into| into.push_str(value));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_same_text_kept_or_past_the_bound() {
        assert_eq!(kept_key("order").as_str(), "order");
        assert_eq!(kept_key(&String::from("order")).as_str(), "order");
        for index in 0..KNOWN_KEYS + 8 {
            let key = format!("key-{index}");
            assert_eq!(kept_key(&key).as_str(), key);
        }
        assert_eq!(KNOWN_KEYS_OF_THREAD.with_borrow(Vec::len), KNOWN_KEYS);
    }
}
