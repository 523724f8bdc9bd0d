//! spanflow's messages about itself (spans dropped at a full queue, an
//! export that failed, a processor that panicked), each said once on
//! standard error, as much of them as `OTEL_LOG_LEVEL` lets through. The
//! level is process-wide, as the variable is, and read when a pipeline is
//! installed.
//!
//! Standard error rather than the `log` or `tracing` facades: the messages
//! come from the collector and export threads, where a facade's subscriber
//! may be spanflow's own log bridge, and a message about lost telemetry
//! must not itself be telemetry that can be lost.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::config::{self, ConfigError, LOG_LEVEL};

/// How serious a message is; a level lets through itself and those above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Nothing is said.
    None = 0,
    /// Spans were lost to a failure.
    Error = 1,
    /// Spans were shed as configured (a full queue), or configuration
    /// was given that spanflow does not read.
    Warn = 2,
    Info = 3,
    Debug = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Makes `level` the process's level.
pub(crate) fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Says `message` on standard error, after `spanflow: `, if the level lets
/// it through.
pub(crate) fn say(level: Level, message: fmt::Arguments<'_>) {
    if level as u8 <= LEVEL.load(Ordering::Relaxed) {
        eprintln!("spanflow: {message}");
    }
}

/// The level `OTEL_LOG_LEVEL` asks for; unset or empty: `info`.
pub(crate) fn level_from_env() -> Result<Level, ConfigError> {
    config::var(LOG_LEVEL).map_or(Ok(Level::Info), |value| parse_level(&value))
}

/// The names other OpenTelemetry SDKs accept, in any case.
fn parse_level(value: &str) -> Result<Level, ConfigError> {
    let name = value.trim().to_ascii_lowercase();
    Ok(match name.as_str() {
        "none" | "off" => Level::None,
        "error" | "fatal" | "critical" => Level::Error,
        "warn" | "warning" => Level::Warn,
        "info" => Level::Info,
        "debug" | "trace" | "verbose" | "all" => Level::Debug,
        _ => {
            return Err(ConfigError::new(
                LOG_LEVEL,
                value.trim(),
                "expected none, error, warn, info or debug",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_the_names_sdks_use_in_any_case() {
        for (value, level) in [
            ("none", Level::None),
            ("OFF", Level::None),
            ("error", Level::Error),
            (" Warn ", Level::Warn),
            ("warning", Level::Warn),
            ("info", Level::Info),
            ("DEBUG", Level::Debug),
            ("all", Level::Debug),
        ] {
            assert_eq!(parse_level(value), Ok(level), "{value:?}");
        }
    }

    #[test]
    fn an_unknown_level_names_the_variable_and_the_choices() {
        let error = parse_level("loud").unwrap_err();
        assert_eq!((error.variable, error.value.as_str()), (LOG_LEVEL, "loud"));
        assert!(error.reason.contains("none, error, warn"), "{error}");
    }
}
