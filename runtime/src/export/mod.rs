//! The embedded default: seeing traces with nothing installed.
//!
//! * [`TraceStore`]: an in-process collector, bounded and queryable.
//! * [`TerminalExporter`]: each finished trace drawn as a tree
//!   ([`render_tree`]), with the slowest path marked.
//! * [`OtlpJsonFile`]: the OpenTelemetry Collector's file-exporter encoding,
//!   one OTLP/JSON request per line (feature `json-file`, on by default).
//!
//! A [`Pipeline`](crate::Pipeline) given no exporter picks one of them from
//! the `SPANFLOW_EXPORT` environment variable; see [`EmbeddedExport`](crate::EmbeddedExport).

#[cfg(feature = "json-file")]
mod json_file;
mod store;
mod terminal;
pub(crate) mod trace;
mod tree;
mod tree_writer;

#[cfg(feature = "json-file")]
pub use json_file::OtlpJsonFile;
pub use store::{DEFAULT_STORE_SPANS, StoreExporter, TraceStore};
pub use terminal::{DEFAULT_PENDING_SPANS, TerminalExporter};
pub use trace::Trace;
pub use tree::{TreeStyle, render_tree};
