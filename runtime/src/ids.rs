//! Trace and span ids from a thread-local generator.
//!
//! The SDK's default generator locks nothing either, but spanflow must make
//! ids on its own recording path (the SDK cannot be given ids), and
//! `fastrand`'s thread-local WyRand costs about a nanosecond per `u64`.

use opentelemetry::trace::{SpanId, TraceId};

#[inline]
pub(crate) fn new_span_id() -> SpanId {
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

#[inline]
pub(crate) fn new_trace_id() -> TraceId {
    loop {
        let id = fastrand::u128(..);
        if id != 0 {
            return TraceId::from(id);
        }
    }
}
