//! How spans are batched for export, from the standard `OTEL_BSP_*`
//! environment variables.

use std::time::Duration;

use crate::config::{ConfigError, parse_whole, var};

const SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
const MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
const MAX_CONCURRENT_EXPORTS: &str = "OTEL_BSP_MAX_CONCURRENT_EXPORTS";

/// How spans are batched (the `OTEL_BSP_*` variables, with the
/// specification's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchOptions {
    /// The longest a span waits for its batch to fill.
    pub(crate) schedule_delay: Duration,
    /// The longest a flush waits for the exports it started, and the
    /// longest an exporter given in code may take for one export (a future
    /// still pending then is dropped, and its batch counted failed). An
    /// OTLP export, retries included, takes at most this or the request
    /// timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`), whichever is shorter.
    pub(crate) export_timeout: Duration,
    /// Spans waiting for the export thread, at most; more are dropped
    /// (counted).
    pub(crate) max_queue_size: usize,
    /// Spans per export, at most.
    pub(crate) max_export_batch_size: usize,
    /// Exports in progress at once, at most: spanflow's OTLP export sends
    /// that many requests side by side. An OpenTelemetry `SpanExporter` is
    /// given one batch at a time whatever this says: its contract forbids
    /// concurrent `export` calls.
    pub(crate) max_concurrent_exports: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            schedule_delay: Duration::from_millis(5_000),
            export_timeout: Duration::from_millis(30_000),
            max_queue_size: 2_048,
            max_export_batch_size: 512,
            max_concurrent_exports: 1,
        }
    }
}

impl BatchOptions {
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        let mut options = BatchOptions::default();
        if let Some(value) = var(SCHEDULE_DELAY) {
            options.schedule_delay = millis(SCHEDULE_DELAY, &value)?;
        }
        if let Some(value) = var(EXPORT_TIMEOUT) {
            options.export_timeout = millis(EXPORT_TIMEOUT, &value)?;
        }
        if let Some(value) = var(MAX_QUEUE_SIZE) {
            options.max_queue_size = count(MAX_QUEUE_SIZE, &value)?;
        }
        if let Some(value) = var(MAX_EXPORT_BATCH_SIZE) {
            options.max_export_batch_size = count(MAX_EXPORT_BATCH_SIZE, &value)?;
        }
        if let Some(value) = var(MAX_CONCURRENT_EXPORTS) {
            options.max_concurrent_exports = count(MAX_CONCURRENT_EXPORTS, &value)?;
        }
        // As the specification says: a batch never exceeds the queue.
        options.max_export_batch_size = options.max_export_batch_size.min(options.max_queue_size);
        Ok(options)
    }
}

/// A duration given in whole milliseconds, as the specification's
/// variables give them.
pub(crate) fn millis(variable: &'static str, value: &str) -> Result<Duration, ConfigError> {
    parse_whole(variable, value, "of milliseconds").map(Duration::from_millis)
}

fn count(variable: &'static str, value: &str) -> Result<usize, ConfigError> {
    parse_whole(variable, value, "above zero").map(std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_whole_and_counts_above_zero() {
        assert_eq!(
            millis(SCHEDULE_DELAY, " 250 ").unwrap(),
            Duration::from_millis(250)
        );
        assert!(millis(SCHEDULE_DELAY, "1.5s").is_err());
        assert!(count(MAX_QUEUE_SIZE, "0").is_err());
        assert_eq!(count(MAX_QUEUE_SIZE, "64").unwrap(), 64);
    }
}
