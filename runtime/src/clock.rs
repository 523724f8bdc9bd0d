//! Span timestamps.
//!
//! Spans are timed with quanta's TSC-backed monotonic clock (a few
//! nanoseconds a read, against ~20 ns for `SystemTime::now`) and turned into
//! wall-clock time only on the collector thread, against one anchor taken
//! when the recorder was installed.

use std::time::{Duration, SystemTime};

pub(crate) use quanta::Instant;

#[inline]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Nanoseconds from `earlier` to `later`, saturating at zero.
#[inline]
pub(crate) fn nanos_between(earlier: Instant, later: Instant) -> u64 {
    u64::try_from(later.saturating_duration_since(earlier).as_nanos()).unwrap_or(u64::MAX)
}

/// A pairing of the monotonic clock with the wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallAnchor {
    system: SystemTime,
    instant: Instant,
}

impl WallAnchor {
    pub(crate) fn new() -> Self {
        WallAnchor {
            instant: now(),
            system: SystemTime::now(),
        }
    }

    pub(crate) fn to_system_time(self, instant: Instant) -> SystemTime {
        if instant >= self.instant {
            self.system + instant.duration_since(self.instant)
        } else {
            self.system
                .checked_sub(self.instant.duration_since(instant))
                .unwrap_or(self.system - Duration::ZERO)
        }
    }
}
