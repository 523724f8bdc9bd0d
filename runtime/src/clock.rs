//! Span timestamps.
//!
//! Spans are timed in raw TSC ticks through quanta (about 10 ns a read on a
//! small VM, against 15 ns for `quanta::Instant::now` and 22 ns for
//! `std::time::Instant::now`, measured with a 20 M-read loop). Ticks become
//! nanoseconds and wall-clock time only on the collector thread, against an
//! anchor taken when the recorder was installed and renewed every minute
//! ([`ANCHOR_SERVES`]).

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

/// How long one anchor serves before the collector takes another. Ticks
/// become nanoseconds at the rate quanta calibrated when the process
/// started, and the wall clock goes at the rate NTP keeps it at; the two
/// drift apart by up to a ppm or two (0.1 and 1.2 ppm in two processes on
/// this project's VM, over 30 and 600 s: the second 0.74 ms after ten
/// minutes, ~0.1 s a day), which would move a long-running process's spans
/// away from its log lines, the SDK's spans and other services'. A new
/// anchor each minute keeps the offset under ~0.1 ms: each moves the
/// spans converted after it by what drifted since the last; a span's
/// duration never changes, its start and end being converted together.
pub(crate) const ANCHOR_SERVES: Duration = Duration::from_secs(60);

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

    /// This anchor, or a new one once it has served longer than `serves`.
    pub(crate) fn renewed_after(self, serves: Duration) -> Self {
        let served = nanos_between(self.ticks, now());
        if u128::from(served) > serves.as_nanos() {
            WallAnchor::new()
        } else {
            self
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
    fn an_anchor_is_renewed_once_it_has_served() {
        let anchor = WallAnchor::new();
        let kept = anchor.renewed_after(Duration::from_secs(3_600));
        assert_eq!((kept.ticks, kept.system), (anchor.ticks, anchor.system));
        let renewed = anchor.renewed_after(Duration::ZERO);
        assert!(renewed.ticks > anchor.ticks);
        assert_eq!(renewed.to_system_time(renewed.ticks), renewed.system);
    }

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
