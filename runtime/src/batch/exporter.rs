//! Batched export to any OpenTelemetry `SpanExporter`
//! ([`Pipeline::with_batch_exporter`](crate::Pipeline::with_batch_exporter),
//! the embedded default's JSON file).
//!
//! It takes the place of the SDK's `BatchSpanProcessor`, with the same
//! settings (`OTEL_BSP_*`) and one export thread as well. That processor
//! moves every span through a channel into its batch: in callgrind (a
//! discarding exporter) its thread spent ~1,090 instructions a span, half
//! of them copying `SpanData`, and the collector ~190 to send it. Here a
//! span moves into the batch being built, under a lock taken once a span,
//! and a full batch is copied out at once and queued for the export thread
//! as one value. What each export returned is counted
//! ([`ExportStats`](crate::ExportStats)); the SDK's processor only logs it.

use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::block_within::block_within;
use super::options::BatchOptions;
use super::queue::{Queue, SpanCount, lock};
use crate::export_accounting::ExportCounters;

/// Spans the batch being built has room for before it first grows.
const INITIAL_CAPACITY: usize = 512;

/// A span processor exporting batches of spans to `E` from its own thread.
pub(crate) struct ExporterBatch<E> {
    shared: Arc<Shared<E>>,
    /// The export thread, and a channel that disconnects when it ends.
    worker: Mutex<Option<(JoinHandle<()>, mpsc::Receiver<()>)>>,
}

struct Shared<E> {
    building: Mutex<Vec<SpanData>>,
    queue: Queue<Vec<SpanData>>,
    /// Locked by the export thread while it exports, and by `set_resource`.
    exporter: Mutex<E>,
    counters: Arc<ExportCounters>,
    options: BatchOptions,
}

impl<E: SpanExporter + 'static> ExporterBatch<E> {
    /// Starts the export thread.
    pub(crate) fn start(
        exporter: E,
        options: BatchOptions,
        counters: &Arc<ExportCounters>,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            // Grown on demand, and kept: a large batch size from the
            // environment does not allocate its whole batch up front.
            building: Mutex::new(Vec::with_capacity(
                options.max_export_batch_size.min(INITIAL_CAPACITY),
            )),
            queue: Queue::new(options.max_queue_size),
            exporter: Mutex::new(exporter),
            counters: Arc::clone(counters),
            options,
        });
        let (alive, ended) = mpsc::channel::<()>();
        let worker = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("spanflow-export".into())
            .spawn(move || {
                let _alive = alive;
                worker.run();
            })?;
        Ok(ExporterBatch {
            shared,
            worker: Mutex::new(Some((thread, ended))),
        })
    }
}

impl<E: SpanExporter + 'static> SpanProcessor for ExporterBatch<E> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.shared.counters.offer(1);
        let full = {
            let mut building = lock(&self.shared.building);
            building.push(span);
            (building.len() >= self.shared.options.max_export_batch_size)
                .then(|| take(&mut building))
        };
        if let Some(batch) = full {
            // A batch that does not fit is dropped here, outside the locks.
            let _ = self.shared.queue.push(batch);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush(self.shared.options.export_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // The thread ends after the export in progress and the exporter's
        // own shutdown.
        self.shared.queue.shut_down(
            |within| self.shared.flush(within),
            lock(&self.worker).take(),
            self.shared.options.export_timeout,
            timeout,
        )
    }

    fn set_resource(&mut self, resource: &Resource) {
        lock(&self.shared.exporter).set_resource(resource);
    }
}

impl<E: SpanExporter> Shared<E> {
    /// The batch being built, if it holds any span.
    fn take_partial(&self) -> Option<Vec<SpanData>> {
        let mut building = lock(&self.building);
        (!building.is_empty()).then(|| take(&mut building))
    }

    fn flush(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.flush(self.take_partial(), timeout)
    }

    /// The export thread: exports queued batches in order, and what is
    /// being built once it has waited `schedule_delay`.
    fn run(&self) {
        // As the SDK's batch thread does: what the exporter does itself (an
        // instrumented HTTP client) is not traced into its own export.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        self.queue.serve(
            Some(self.options.schedule_delay),
            || self.take_partial(),
            |batch| self.export(batch),
            || self.flush_exporter(),
        );
        let _ = lock(&self.exporter).shutdown();
    }

    /// Exports one batch and counts the outcome. An exporter that panics,
    /// or whose export is still pending after `export_timeout` (then
    /// dropped, which cancels it), fails that batch only: the thread goes
    /// on with the next, where its end (or an endless wait) would leave
    /// every later batch waiting.
    fn export(&self, batch: Vec<SpanData>) {
        let spans = batch.len() as u64;
        let timeout = self.options.export_timeout;
        let exporter = lock(&self.exporter);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            block_within(exporter.export(batch), timeout)
        }));
        match outcome {
            Ok(Some(Ok(()))) => self.counters.exported(spans),
            Ok(Some(Err(error))) => self.counters.failed(spans, &error),
            Ok(None) => self.counters.failed(
                spans,
                &format!("the export was not done within {timeout:?} (OTEL_BSP_EXPORT_TIMEOUT)"),
            ),
            Err(_) => self.counters.failed(spans, &"the exporter panicked"),
        }
    }

    /// The exporter's own flush, a panic in it taken as a failed flush.
    fn flush_exporter(&self) {
        let exporter = lock(&self.exporter);
        let _ = panic::catch_unwind(AssertUnwindSafe(|| exporter.force_flush()));
    }
}

/// The spans being built, copied out whole into a batch the exporter can
/// own; the buffer keeps its capacity for the next batch.
///
/// Handing the buffer itself to the exporter and building in a new one
/// (no copy) made application threads slower, though they never touch it:
/// `profile_spans tree 1000000 500`, 12 alternating rounds, a median of
/// 136.7 ns a span against 127.2 ns with the SDK's batch processor and
/// 128.2 ns copying out. Writing each span into freshly allocated memory
/// cost more than one bulk copy into it.
fn take(building: &mut Vec<SpanData>) -> Vec<SpanData> {
    building.split_off(0)
}

impl SpanCount for Vec<SpanData> {
    fn span_count(&self) -> usize {
        self.len()
    }
}

impl<E> fmt::Debug for ExporterBatch<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterBatch")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<E> Drop for ExporterBatch<E> {
    fn drop(&mut self) {
        self.shared.queue.stop();
    }
}

#[cfg(test)]
mod tests;
