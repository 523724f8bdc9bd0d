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

/// A pairing of the monotonic clock with the wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallAnchor {
    system: SystemTime,
    ticks: Ticks,
}

impl WallAnchor {
    /// Also calibrates the clock, so that no span pays for it.
    pub(crate) fn new() -> Self {
        WallAnchor {
            ticks: now(),
            system: SystemTime::now(),
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
