//! Timeouts as users give them, which may be zero or `Duration::MAX`.

use std::time::{Duration, Instant};

/// The longest timeout spanflow hands to a clock or a protocol: "no
/// limit", which a timeout of zero means for the export settings (as
/// OpenTelemetry's configuration schema, Go's batch processor and Java's
/// OTLP exporter read it), and what a longer one becomes. gRPC cannot
/// encode a timeout over ~11,400 years (tonic panics), and adding
/// `Duration::MAX` to an `Instant` overflows (std panics).
pub(crate) const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// An export timeout as given: zero and anything over [`NO_LIMIT`] mean no
/// limit.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn timeout_setting(timeout: Duration) -> Duration {
    if timeout.is_zero() {
        NO_LIMIT
    } else {
        timeout.min(NO_LIMIT)
    }
}

/// `timeout` from now, at most [`NO_LIMIT`] from now.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    Instant::now() + timeout.min(NO_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_endless_timeouts_mean_no_limit_which_a_clock_can_take() {
        assert_eq!(timeout_setting(Duration::ZERO), NO_LIMIT);
        assert_eq!(timeout_setting(Duration::MAX), NO_LIMIT);
        assert_eq!(
            timeout_setting(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(deadline_after(Duration::MAX) > Instant::now() + Duration::from_secs(1 << 30));
    }
}
