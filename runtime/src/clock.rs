//! Span timestamps.
//!
//! Spans are timed in raw TSC ticks through quanta (about 10 ns a read on a
//! small VM, against 15 ns for `quanta::Instant::now` and 22 ns for
//! `std::time::Instant::now`, measured with a 20 M-read loop). Ticks become
//! nanoseconds and wall-clock time only on the collector thread, against one
//! anchor taken when the recorder was installed.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// A raw reading of the monotonic clock.
pub(crate) type Ticks = u64;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[inline]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

#[inline]
pub(crate) fn now() -> Ticks {
    clock().raw()
}

/// Nanoseconds from `earlier` to `later`, saturating at zero.
#[inline]
pub(crate) fn nanos_between(earlier: Ticks, later: Ticks) -> u64 {
    if later <= earlier {
        0
    } else {
        clock().delta_as_nanos(earlier, later)
    }
}

/// `time` in nanoseconds since the Unix epoch, as OTLP carries times (0
/// before the epoch).
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// A pairing of the monotonic clock with the wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallAnchor {
    system: SystemTime,
    /// `system` in nanoseconds since the Unix epoch (0 before it).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // read by the OTLP encoder
    unix_nanos: u64,
    ticks: Ticks,
}

impl WallAnchor {
    /// Also calibrates the clock, so that no span pays for it.
    pub(crate) fn new() -> Self {
        let ticks = now();
        let system = SystemTime::now();
        WallAnchor {
            ticks,
            system,
            unix_nanos: unix_nanos(system),
        }
    }

    /// `ticks` in nanoseconds since the Unix epoch, as OTLP carries times:
    /// what `to_system_time` gives, without a `SystemTime` in between (two
    /// per span on the collector thread; 0 before the epoch).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn to_unix_nanos(self, ticks: Ticks) -> u64 {
        if ticks >= self.ticks {
            self.unix_nanos
                .saturating_add(nanos_between(self.ticks, ticks))
        } else {
            self.unix_nanos
                .saturating_sub(nanos_between(ticks, self.ticks))
        }
    }

    pub(crate) fn to_system_time(self, ticks: Ticks) -> SystemTime {
        if ticks >= self.ticks {
            self.system + Duration::from_nanos(nanos_between(self.ticks, ticks))
        } else {
            let before = Duration::from_nanos(nanos_between(ticks, self.ticks));
            self.system.checked_sub(before).unwrap_or(self.system)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_nanos_agree_with_the_system_time_before_and_after_the_anchor() {
        let anchor = WallAnchor::new();
        let later = now() + 1_000_000;
        let earlier = anchor.ticks.saturating_sub(1_000_000);
        for ticks in [anchor.ticks, later, earlier] {
            assert_eq!(
                anchor.to_unix_nanos(ticks),
                unix_nanos(anchor.to_system_time(ticks))
            );
        }
        assert!(anchor.to_unix_nanos(later) > anchor.to_unix_nanos(earlier));
    }
}
