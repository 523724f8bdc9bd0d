//! The `log` crate's records as span events.

use std::fmt::Write as _;

use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};

use crate::log_event::TargetName;

/// A `log::Log` that records each log line on the current span, then
/// hands it to your logger unchanged.
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
