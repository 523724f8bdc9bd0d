//! What happened to the spans handed to the pipeline's batch exports:
//! exported, failed, or still queued / dropped by the batch queue.
//!
//! A batch queue drops spans when it is full (an exporter down for long
//! enough), and an export can fail; opentelemetry_sdk's `BatchSpanProcessor`
//! keeps the one count private and only logs the other. spanflow's batch
//! exports count the spans offered to them and what each export returned,
//! so that the loss is visible: after a flush, nothing is queued and
//! `offered − exported − failed` is what the queue dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::diagnostics::{self, Level};

/// The pipeline's export counts (see [`PipelineGuard::export_stats`](crate::PipelineGuard::export_stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Spans handed to the batch exports (OTLP, the JSON file, exporters
    /// given to `with_batch_exporter`).
    pub offered: u64,
    /// Spans in batches the exporter accepted.
    pub exported: u64,
    /// Spans in batches the exporter failed (down, refused, timed out),
    /// after any retries.
    pub failed: u64,
    /// Spans sent again after a transient failure (one per span and retry;
    /// spanflow's OTLP/gRPC and OTLP/HTTP-protobuf exports retry).
    pub retried: u64,
}

impl ExportStats {
    /// Spans neither exported nor failed: still queued, or dropped by a
    /// full batch queue. Right after a flush nothing is queued, so this is
    /// what the queue dropped.
    pub fn unaccounted(&self) -> u64 {
        self.offered.saturating_sub(self.exported + self.failed)
    }
}

#[derive(Debug, Default)]
pub(crate) struct ExportCounters {
    offered: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    reported: AtomicBool,
}

impl ExportCounters {
    pub(crate) fn snapshot(&self) -> ExportStats {
        ExportStats {
            offered: self.offered.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn offer(&self, spans: u64) {
        self.offered.fetch_add(spans, Ordering::Relaxed);
    }

    pub(crate) fn exported(&self, spans: u64) {
        self.exported.fetch_add(spans, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn retried(&self, spans: u64) {
        self.retried.fetch_add(spans, Ordering::Relaxed);
    }

    /// Counts spans an export lost, and says so on standard error the
    /// first time.
    pub(crate) fn failed(&self, spans: u64, error: &dyn std::fmt::Display) {
        self.failed.fetch_add(spans, Ordering::Relaxed);
        if !self.reported.swap(true, Ordering::Relaxed) {
            diagnostics::say(
                Level::Error,
                format_args!(
                    "an export of {spans} spans failed ({error}); spans are lost until the \
                     exporter recovers (counted in PipelineGuard::export_stats; reported once)"
                ),
            );
        }
    }

    /// `spanflow.export.spans` by `outcome` (offered, exported, failed)
    /// through the global meter provider.
    pub(crate) fn register_metrics(counters: &Arc<ExportCounters>) {
        let counters = Arc::downgrade(counters);
        opentelemetry::global::meter("spanflow")
            .u64_observable_counter("spanflow.export.spans")
            .with_description("Spans handed to batch exports, by what became of them")
            .with_unit("{span}")
            .with_callback(move |observer| {
                if let Some(counters) = counters.upgrade() {
                    let stats = counters.snapshot();
                    for (outcome, value) in [
                        ("offered", stats.offered),
                        ("exported", stats.exported),
                        ("failed", stats.failed),
                        ("retried", stats.retried),
                    ] {
                        observer
                            .observe(value, &[opentelemetry::KeyValue::new("outcome", outcome)]);
                    }
                }
            })
            .build();
    }
}
