//! Batching spans for export: the `OTEL_BSP_*` settings, the queue between
//! the threads that end spans and an export thread, and the processor that
//! exports batches to any OpenTelemetry `SpanExporter`. spanflow's OTLP
//! processor (`crate::otlp`) shares the settings and the queue.

mod block_within;
mod exporter;
mod options;
mod queue;

pub(crate) use exporter::ExporterBatch;
pub use options::BatchOptions;
#[cfg(feature = "otlp")]
pub(crate) use options::millis;
#[cfg(feature = "otlp")]
pub(crate) use queue::{Queue, SpanCount, lock};
