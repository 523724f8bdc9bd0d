//! Log lines inside the trace: `log` records and `tracing` events emitted
//! while a span's work runs become events on that span (name `log`, with
//! `level`, `message`, `target` and the fields), so they show in the trace's
//! timeline (and under their span in the terminal's tree); the bridges do
//! not even format a line outside any recorded span. A WARN-or-worse line
//! is what the tail sampler's
//! [`Policy::warnings`](crate::tail::Policy::warnings) keeps a trace for.
//! Formatters get the ids of the current trace and span from
//! [`trace_ids`], so each line can be found from its trace and back.
//!
// The items named below exist with their features only: linked when they
// do, so that the docs of any feature set build without broken links.
#![cfg_attr(
    feature = "log",
    doc = "* `log`: wrap your logger in [`LogBridge`] (feature `log`)."
)]
#![cfg_attr(
    not(feature = "log"),
    doc = "* `log`: wrap your logger in `LogBridge` (feature `log`)."
)]
#![cfg_attr(
    feature = "tracing",
    doc = "* `tracing`: add [`SpanEventLayer`] to your subscriber, and \
           [`WithTraceIds`] around its format (feature `tracing`)."
)]
#![cfg_attr(
    not(feature = "tracing"),
    doc = "* `tracing`: add `SpanEventLayer` to your subscriber, and \
           `WithTraceIds` around its format (feature `tracing`)."
)]
//!
//! Exporting the log lines themselves through OpenTelemetry logs
//! (opentelemetry-appender-log, opentelemetry-appender-tracing) keeps the
//! correlation too: the SDK stamps each record with the current context's
//! span, which is spanflow's.

use std::fmt;

use opentelemetry::trace::{SpanId, TraceId};

use crate::log_event::{LogSink, TargetName};

#[cfg(feature = "log")]
mod log_bridge;
#[cfg(feature = "tracing")]
mod tracing_layer;

#[cfg(feature = "log")]
pub use log_bridge::LogBridge;
#[cfg(feature = "tracing")]
pub use tracing_layer::{SpanEventLayer, WithTraceIds};

/// The name of the span events that log lines become.
pub const LOG_EVENT: &str = "log";

/// `trace_id=… span_id=…` of the current span, or nothing outside a
/// trace: for a log formatter.
///
/// ```
/// # #[spanflow::trace]
/// # fn work() {
/// println!("{} charging card", spanflow::logs::trace_ids());
/// # }
/// ```
pub fn trace_ids() -> TraceIds {
    TraceIds(crate::current::ids())
}

/// The ids [`trace_ids`] found; formats as `trace_id=… span_id=…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceIds(pub Option<(TraceId, SpanId)>);

impl fmt::Display for TraceIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((trace, span)) => write!(f, "trace_id={trace} span_id={span}"),
            None => Ok(()),
        }
    }
}

/// Records a log line as an event on the current span; `fill` writes its
/// message and fields, and runs only when there is a span, so lines
/// outside recorded spans cost no formatting.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) fn record(
    level: &'static str,
    target: TargetName<'_>,
    fill: impl FnOnce(&mut LogSink<'_>),
) {
    crate::current::add_log(level, target, fill);
}
