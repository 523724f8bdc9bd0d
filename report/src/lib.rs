//! Reports over traces, answering "where did the time go?": the library
//! under the `spanflow` command.
//!
//! Spans come from OTLP-JSON files (one `ExportTraceServiceRequest` per
//! line: the Collector's file exporter, spanflow's `json:PATH` sink; plain
//! or gzip), read line by line ([`read::for_each_span`]): a malformed or
//! truncated line is reported with its line number and skipped. Each report
//! takes spans one at a time and keeps only sketches, counters and samples,
//! so memory does not grow with the input:
//!
//! * [`Latency`]: count, P50 / P95 / P99 / max and error rate by an
//!   attribute (`service.name`; `peer.service` over CLIENT spans, through
//!   [`Selection::kind`], for the services called, as their callers saw
//!   them).
//! * [`DurationHistogram`]: one span name's durations over buckets.
//! * [`Compare`]: groups (`deployment.variant`, `service.version`) side by
//!   side, with a Mann-Whitney U test on latency and a two-proportion test
//!   on error rates.
//! * [`Lag`]: consumer latency against consumer lag over time, Pearson's r.
//! * [`Backpressure`]: queued, waiting and working time per span name.
//! * [`Timeline`]: count, errors and latency per group (`k8s.pod.name`)
//!   over time.
//! * [`trees`]: a trace drawn, the slowest path marked, log lines under
//!   their spans.
//!
//! Percentiles are exact up to 100,000 values per group, then come from an
//! HDR histogram (hdrhistogram, 3 significant digits: within 0.1%).
//!
//! ```
//! use spanflow_report::{Latency, Selection, SpanRow};
//!
//! let mut report = Latency::new("service.name", Selection::default());
//! # let spans: Vec<SpanRow> = Vec::new();
//! for span in &spans {
//!     report.add(span);
//! }
//! println!("{}", report.finish().table.render());
//! ```

#![deny(missing_docs)]

mod commands;
pub mod output;
pub mod read;
mod span;
pub mod stats;

pub use commands::{
    Backpressure, Compare, DurationHistogram, Lag, Latency, Selection, SpanReport, Timeline,
    TraceChoice, trees,
};
pub use span::{AttributeValue, EventRow, SpanRow};
