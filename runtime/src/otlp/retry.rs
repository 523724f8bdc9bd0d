//! Retrying exports that failed for a reason that passes: a receiver
//! restarting, overloaded or briefly unreachable, as the OTLP specification
//! asks of exporters.

use std::time::Duration;

/// How often, and how patiently, a failed export is tried again.
///
/// Only failures the OTLP specification calls transient are retried: HTTP
/// 429, 502, 503 and 504; gRPC `UNAVAILABLE`, `CANCELLED`,
/// `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE` and `DATA_LOSS`, and
/// `RESOURCE_EXHAUSTED` when the receiver says when to try again; a
/// connection that could not be made or a request without an answer in
/// time. The wait a receiver asks for is honoured (up to 30 s) in place of
/// the backoff: HTTP's `Retry-After` (seconds or a date), gRPC's
/// `RetryInfo`. Every attempt
/// of a batch, and the waits between them, fit in the export's time: the
/// request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s) or
/// `OTEL_BSP_EXPORT_TIMEOUT` (30 s), whichever is shorter, as in
/// OpenTelemetry's exporters for Go, Java and Rust; a retry whose wait
/// would end past it is not made, and the batch is counted failed. While a
/// batch is retried, later ones wait in the bounded queue (or go through
/// the other senders), and what does not fit is dropped and counted.
///
/// ```
/// use std::time::Duration;
/// use spanflow::otlp::{OtlpProtocol, OtlpTarget, Retry};
///
/// let target = OtlpTarget::new("http://127.0.0.1:4318", OtlpProtocol::HttpProtobuf)?
///     .with_retry(Retry {
///         max_attempts: 3,
///         ..Retry::default()
///     });
/// # Ok::<(), spanflow::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per batch, the first included; 1 never retries.
    pub max_attempts: u32,
    /// The wait before the first retry; each next one is 1.5 times longer.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for Retry {
    /// 5 attempts, waiting about 1, 1.5, 2.25 and 3.4 s (±20%, so that
    /// many processes do not retry in step), as OpenTelemetry Java does;
    /// against a receiver that fails at once they fit in the default 10 s.
    fn default() -> Self {
        Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// One attempt per batch.
    pub const fn none() -> Self {
        Retry {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// The wait after failed attempt number `attempt` (1 for the first);
    /// `jitter` is uniform in [0, 1).
    pub(crate) fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = self.initial_backoff.as_secs_f64() * 1.5_f64.powi(exponent);
        let capped = base.min(self.max_backoff.as_secs_f64());
        // Beyond what a `Duration` holds, the wait is longer than any
        // export's time: the retry is not made.
        Duration::try_from_secs_f64(capped * (0.8 + 0.4 * jitter)).unwrap_or(Duration::MAX)
    }
}

/// The longest `Retry-After` honoured.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why an export failed, and whether trying again may help.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SendError {
    pub(crate) message: String,
    pub(crate) transient: bool,
    /// What the receiver asked for, if anything.
    pub(crate) retry_after: Option<Duration>,
}

impl SendError {
    pub(crate) fn transient(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            transient: true,
            retry_after: None,
        }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            transient: false,
            retry_after: None,
        }
    }
}

/// The HTTP statuses the OTLP specification lists as retryable.
pub(crate) fn transient_http_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// The gRPC codes the OTLP specification lists as retryable whatever the
/// receiver adds (`RESOURCE_EXHAUSTED` is, too, when it carries a
/// `RetryInfo`: see the transport).
pub(crate) fn transient_grpc_code(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_half_is_capped_and_jittered_within_a_fifth() {
        let retry = Retry::default();
        assert_eq!(retry.backoff(1, 0.5), Duration::from_secs(1));
        assert_eq!(retry.backoff(2, 0.5), Duration::from_millis(1500));
        assert_eq!(retry.backoff(3, 0.5), Duration::from_millis(2250));
        assert_eq!(retry.backoff(9, 0.5), Duration::from_secs(5));
        assert_eq!(retry.backoff(1, 0.0), Duration::from_millis(800));
        assert!(retry.backoff(1, 0.999) < Duration::from_millis(1200));
        assert_eq!(Retry::none().backoff(1, 0.5), Duration::ZERO);
        let endless = Retry {
            max_attempts: 3,
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
        };
        assert_eq!(endless.backoff(2, 0.999), Duration::MAX);
    }

    #[test]
    fn only_the_specifications_transient_failures_are_retried() {
        for status in [429, 502, 503, 504] {
            assert!(transient_http_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 500, 501] {
            assert!(!transient_http_status(status), "{status}");
        }
        assert!(transient_grpc_code(tonic::Code::Unavailable));
        assert!(transient_grpc_code(tonic::Code::DeadlineExceeded));
        assert!(!transient_grpc_code(tonic::Code::InvalidArgument));
        assert!(!transient_grpc_code(tonic::Code::Unauthenticated));
        assert!(!transient_grpc_code(tonic::Code::ResourceExhausted));
    }
}
