//! How spans are batched for export: the standard `OTEL_BSP_*`
//! environment variables, or the same settings given in code.

use std::time::Duration;

use crate::config::{self, ConfigError, parse_whole, var};
use crate::timeout::timeout_setting;

const SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
const MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
const MAX_CONCURRENT_EXPORTS: &str = "OTEL_BSP_MAX_CONCURRENT_EXPORTS";

/// How spans are batched for export: spanflow's OTLP export, the embedded
/// default's JSON file and every exporter given to
/// [`Pipeline::with_batch_exporter`](crate::Pipeline::with_batch_exporter).
///
/// A pipeline reads them from the standard `OTEL_BSP_*` variables unless
/// [`Pipeline::with_batch_options`](crate::Pipeline::with_batch_options)
/// gives them; to change some and keep the environment's others, start
/// from [`BatchOptions::from_env`]. [`Default`] gives the specification's
/// defaults.
///
/// ```
/// use std::time::Duration;
///
/// let options = spanflow::BatchOptions::from_env()?
///     .with_max_queue_size(8_192)
///     .with_schedule_delay(Duration::from_secs(1));
/// let _pipeline = spanflow::pipeline!().with_batch_options(options);
/// # Ok::<(), spanflow::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOptions {
    /// The longest a span waits for its batch to fill
    /// (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
    pub schedule_delay: Duration,
    /// The longest a flush waits for the exports it started, and the
    /// longest one export may take (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s; zero
    /// means no limit): an
    /// exporter given in code whose export future is still pending then is
    /// dropped, and its batch counted failed; an OTLP export, retries
    /// included, takes at most this or its request timeout
    /// (`OTEL_EXPORTER_OTLP_TIMEOUT`), whichever is shorter.
    pub export_timeout: Duration,
    /// Spans waiting for export, at most (`OTEL_BSP_MAX_QUEUE_SIZE`,
    /// 2,048); a batch that does not fit is dropped and counted in
    /// [`ExportStats::unaccounted`](crate::ExportStats::unaccounted).
    pub max_queue_size: usize,
    /// Spans per export, at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512);
    /// never more than `max_queue_size`.
    pub max_export_batch_size: usize,
    /// Exports in progress at once, at most
    /// (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`, 1): spanflow's OTLP export sends
    /// that many requests side by side, for a receiver a round trip away.
    /// An OpenTelemetry `SpanExporter` is given one batch at a time
    /// whatever this says: its contract forbids concurrent `export` calls.
    pub max_concurrent_exports: usize,
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
    /// The specification's defaults, overridden by each `OTEL_BSP_*`
    /// variable that is set; a value that is not a whole number (of
    /// milliseconds for the two durations; above zero for the three
    /// counts) is an error naming the variable. With a configuration file
    /// (`OTEL_CONFIG_FILE`), its OTLP exporter's `batch` settings take the
    /// place of these variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        config::reading(BatchOptions::read_from_env)
    }

    fn read_from_env() -> Result<Self, ConfigError> {
        let mut options = BatchOptions::default();
        if let Some(value) = var(SCHEDULE_DELAY) {
            options.schedule_delay = millis(SCHEDULE_DELAY, &value)?;
        }
        if let Some(value) = var(EXPORT_TIMEOUT) {
            options.export_timeout = timeout_setting(millis(EXPORT_TIMEOUT, &value)?);
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
        Ok(options.bounded())
    }

    /// These options with another [`schedule_delay`](Self::schedule_delay).
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = delay;
        self
    }

    /// These options with another [`export_timeout`](Self::export_timeout).
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// These options with another [`max_queue_size`](Self::max_queue_size).
    pub fn with_max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = spans;
        self
    }

    /// These options with another
    /// [`max_export_batch_size`](Self::max_export_batch_size).
    pub fn with_max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = spans;
        self
    }

    /// These options with another
    /// [`max_concurrent_exports`](Self::max_concurrent_exports).
    pub fn with_max_concurrent_exports(mut self, exports: usize) -> Self {
        self.max_concurrent_exports = exports;
        self
    }

    /// Options given in code, checked as the variables are: a count of zero
    /// would batch nothing, so it is an error naming the field; a zero
    /// export timeout means no limit.
    pub(crate) fn validated(self) -> Result<Self, ConfigError> {
        for (field, value) in [
            ("BatchOptions::max_queue_size", self.max_queue_size),
            (
                "BatchOptions::max_export_batch_size",
                self.max_export_batch_size,
            ),
            (
                "BatchOptions::max_concurrent_exports",
                self.max_concurrent_exports,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::new(field, "0", "must be above zero"));
            }
        }
        Ok(BatchOptions {
            export_timeout: timeout_setting(self.export_timeout),
            ..self.bounded()
        })
    }

    /// As the specification says: a batch never exceeds the queue.
    fn bounded(mut self) -> Self {
        self.max_export_batch_size = self.max_export_batch_size.min(self.max_queue_size);
        self
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
    use crate::timeout::NO_LIMIT;

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

    #[test]
    fn options_in_code_refuse_zero_counts_and_keep_batches_within_the_queue() {
        let error = BatchOptions::default()
            .with_max_concurrent_exports(0)
            .validated()
            .unwrap_err();
        assert_eq!(error.variable, "BatchOptions::max_concurrent_exports");
        let options = BatchOptions::default()
            .with_max_queue_size(100)
            .with_max_export_batch_size(512)
            .validated()
            .unwrap();
        assert_eq!(options.max_export_batch_size, 100);
    }

    #[test]
    fn a_zero_export_timeout_in_code_means_no_limit() {
        let options = BatchOptions::default()
            .with_export_timeout(Duration::ZERO)
            .validated()
            .unwrap();
        assert_eq!(options.export_timeout, NO_LIMIT);
    }
}
