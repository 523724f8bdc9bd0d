//! Head sampling of new traces.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use opentelemetry::trace::TraceId;

/// Decides whether a new trace is recorded.
///
/// By default head sampling is parent-based: a span with a sampled parent is
/// recorded, a span with an unsampled parent is not (and costs a few
/// nanoseconds), and the sampler decides for root spans only.
/// [`Pipeline::with_parent_based`](crate::Pipeline::with_parent_based)`(false)`
/// (or `OTEL_TRACES_SAMPLER=always_on` and friends) makes it decide for every
/// span. The ratio rule
/// is the one of OpenTelemetry's `TraceIdRatioBased` sampler, so spanflow and
/// SDK-made spans with the same trace id agree.
///
/// ```
/// let sampler = spanflow::Sampler::ratio(0.25);
/// assert_eq!(sampler, spanflow::Sampler::Ratio(0.25));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Sampler {
    /// Record every new trace (the default).
    #[default]
    AlwaysOn,
    /// Record no new trace; contexts are still propagated, marked unsampled.
    AlwaysOff,
    /// Record this fraction of new traces, decided from the trace id.
    Ratio(f64),
}

impl Sampler {
    /// Records a fraction of new traces; values outside `0.0..=1.0` are clamped
    /// (NaN counts as 0).
    pub fn ratio(fraction: f64) -> Self {
        Sampler::Ratio(if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        })
    }

    /// The threshold compared with the trace id's randomness.
    fn threshold(self) -> u64 {
        match self {
            Sampler::AlwaysOn => ALWAYS,
            Sampler::AlwaysOff => NEVER,
            Sampler::Ratio(f) if f >= 1.0 => ALWAYS,
            Sampler::Ratio(f) if f.is_nan() || f <= 0.0 => NEVER,
            // Same arithmetic as opentelemetry_sdk's TraceIdRatioBased.
            Sampler::Ratio(f) => (f * (1u64 << 63) as f64) as u64,
        }
    }

    pub(crate) fn to_sdk(self, parent_based: bool) -> opentelemetry_sdk::trace::Sampler {
        use opentelemetry_sdk::trace::Sampler as Sdk;
        let root = match self {
            Sampler::AlwaysOn => Sdk::AlwaysOn,
            Sampler::AlwaysOff => Sdk::AlwaysOff,
            Sampler::Ratio(f) => Sdk::TraceIdRatioBased(f),
        };
        if parent_based {
            Sdk::ParentBased(Box::new(root))
        } else {
            root
        }
    }
}

const ALWAYS: u64 = u64::MAX;
const NEVER: u64 = 0;

/// The recorder's head sampler, changeable while the program runs.
#[derive(Debug)]
pub(crate) struct RootSampler {
    threshold: AtomicU64,
    parent_based: AtomicBool,
}

impl RootSampler {
    pub(crate) fn new(sampler: Sampler, parent_based: bool) -> Self {
        RootSampler {
            threshold: AtomicU64::new(sampler.threshold()),
            parent_based: AtomicBool::new(parent_based),
        }
    }

    pub(crate) fn set(&self, sampler: Sampler, parent_based: bool) {
        self.threshold.store(sampler.threshold(), Ordering::Relaxed);
        self.parent_based.store(parent_based, Ordering::Relaxed);
    }

    /// Whether a span with a parent follows the parent's decision (the
    /// default); otherwise the sampler decides for every span.
    #[inline]
    pub(crate) fn parent_based(&self) -> bool {
        self.parent_based.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn should_sample(&self, trace_id: TraceId) -> bool {
        match self.threshold.load(Ordering::Relaxed) {
            ALWAYS => true,
            NEVER => false,
            threshold => {
                let low = u128::from_be_bytes(trace_id.to_bytes()) as u64;
                (low >> 1) < threshold
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_agrees_with_the_sdk_rule() {
        let sampler = RootSampler::new(Sampler::ratio(0.5), true);
        assert!(sampler.should_sample(TraceId::from(0x1u128)));
        assert!(!sampler.should_sample(TraceId::from(u64::MAX as u128)));
        let off = RootSampler::new(Sampler::ratio(f64::NAN), true);
        assert!(!off.should_sample(TraceId::from(1u128)));
    }
}
