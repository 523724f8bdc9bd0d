//! The reports: each takes spans one at a time and keeps only what its
//! answer needs (sketches, counters, samples), so inputs of any size
//! stream through.

mod backpressure;
mod compare;
mod histogram;
mod lag;
mod latency;
mod timeline;
mod tree;

pub use backpressure::Backpressure;
pub use compare::Compare;
pub use histogram::DurationHistogram;
pub use lag::Lag;
pub use latency::Latency;
pub use timeline::Timeline;
pub use tree::{TraceChoice, trees};

use opentelemetry::trace::SpanKind;

use crate::output::Output;
use crate::span::SpanRow;

/// A report fed one span at a time.
pub trait SpanReport {
    /// Takes one span.
    fn add(&mut self, span: &SpanRow);
    /// The result.
    fn finish(self) -> Output;
}

macro_rules! span_reports {
    ($($report:ty),*) => {$(
        impl SpanReport for $report {
            fn add(&mut self, span: &SpanRow) {
                <$report>::add(self, span)
            }
            fn finish(self) -> Output {
                <$report>::finish(self)
            }
        }
    )*};
}

span_reports!(
    Latency,
    DurationHistogram,
    Compare,
    Lag,
    Backpressure,
    Timeline
);

/// Which spans a report looks at: those named `name`, or else every span
/// (`all_spans`), every span of one kind (`kind`: the CLIENT spans of
/// calls, grouped `--by peer.service`, are each called service's latency
/// as its callers saw it), or only where requests enter a process (the
/// default: a request's latency, not its parts').
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only spans of this trace (every span of it, unless `name` is set).
    pub trace: Option<opentelemetry::trace::TraceId>,
    /// Only spans with this name.
    pub name: Option<String>,
    /// Only spans of this kind (every span of it, not only local roots).
    pub kind: Option<SpanKind>,
    /// Every span, not only local roots.
    pub all_spans: bool,
}

impl Selection {
    /// Whether `span` is in the report.
    pub fn accepts(&self, span: &SpanRow) -> bool {
        if self.trace.is_some_and(|trace| trace != span.trace_id) {
            return false;
        }
        if self.kind.as_ref().is_some_and(|kind| *kind != span.kind) {
            return false;
        }
        match &self.name {
            Some(name) => span.name == *name,
            None => {
                self.all_spans
                    || self.trace.is_some()
                    || self.kind.is_some()
                    || span.is_local_root()
            }
        }
    }
}

/// The text of attribute `key` of `span`, `(none)` when absent.
pub(crate) fn group_of(span: &SpanRow, key: &str) -> String {
    span.attribute(key)
        .map_or_else(|| "(none)".to_owned(), |value| value.to_text())
}
