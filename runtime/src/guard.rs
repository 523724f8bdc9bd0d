//! The installed pipeline, and what can go wrong installing it.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::collector::Collector;
use crate::config::ConfigError;
use crate::export::TraceStore;
use crate::recorder::{Backend, Recorder};
use crate::sampler::Sampler;
use crate::tail::{TailStats, TailStatsHandle};

/// Why a pipeline could not be installed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// A recorder is installed already; there is one per process.
    AlreadyInstalled,
    /// A configuration value (usually an environment variable) is invalid.
    Config(ConfigError),
    /// The exporter could not be set up (a file could not be opened, ...).
    Exporter(String),
    /// A thread of the pipeline (the collector, an export) could not be
    /// started.
    Thread(std::io::Error),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::AlreadyInstalled => f.write_str(
                "a spanflow pipeline is installed already; install one per process, at start-up",
            ),
            InstallError::Config(error) => write!(f, "invalid tracing configuration: {error}"),
            InstallError::Exporter(error) => {
                write!(f, "could not set up the span exporter: {error}")
            }
            InstallError::Thread(error) => {
                write!(
                    f,
                    "could not start a spanflow thread (the collector or an export): {error}"
                )
            }
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Thread(error) => Some(error),
            InstallError::Config(error) => Some(error),
            InstallError::AlreadyInstalled | InstallError::Exporter(_) => None,
        }
    }
}

impl From<ConfigError> for InstallError {
    fn from(error: ConfigError) -> Self {
        InstallError::Config(error)
    }
}

/// A flush or shutdown did not finish within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushTimeout;

impl fmt::Display for FlushTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spanflow could not hand every span to the exporter before the deadline")
    }
}

impl std::error::Error for FlushTimeout {}

/// The installed pipeline. Dropping it flushes and shuts the export down,
/// waiting at most the shutdown timeout, so a hung exporter cannot hold the
/// process.
pub struct PipelineGuard {
    /// `None` when `OTEL_SDK_DISABLED=true` left everything uninstalled.
    pub(crate) recorder: Option<&'static Recorder>,
    pub(crate) provider: Option<SdkTracerProvider>,
    pub(crate) store: Option<TraceStore>,
    pub(crate) tail: Option<TailStatsHandle>,
    pub(crate) export: std::sync::Arc<crate::export_accounting::ExportCounters>,
    pub(crate) shutdown_timeout: Duration,
}

impl fmt::Debug for PipelineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineGuard")
            .field("recorder", &self.recorder)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl PipelineGuard {
    /// What the batch exports (OTLP, the JSON file, `with_batch_exporter`)
    /// did with the spans handed to them: exported, failed, and — as
    /// [`ExportStats::unaccounted`](crate::ExportStats::unaccounted) —
    /// still queued or dropped by a full queue (after a flush: dropped).
    /// Also the `spanflow.export.spans` metric.
    pub fn export_stats(&self) -> crate::ExportStats {
        self.export.snapshot()
    }

    /// The tail sampler's counters, when the pipeline has one
    /// ([`Pipeline::with_tail_sampling`](crate::Pipeline::with_tail_sampling)).
    pub fn tail_stats(&self) -> Option<TailStats> {
        self.tail.as_ref().map(TailStatsHandle::snapshot)
    }

    /// Hands every span ended so far to the processors and flushes them.
    pub fn flush(&self) -> Result<(), FlushTimeout> {
        self.flush_within(self.shutdown_timeout)
    }

    /// [`flush`](Self::flush) with an explicit deadline.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        match self.collector() {
            Some(collector) => collector.flush(timeout).map_err(|_| FlushTimeout),
            None => Ok(()),
        }
    }

    /// Changes which new traces are recorded, effective at once; the
    /// parent-based setting stays as it was.
    pub fn set_sampler(&self, sampler: Sampler) {
        if let Some(recorder) = self.recorder {
            let parent_based = recorder.sampler.parent_based();
            recorder.sampler.set(sampler, parent_based);
        }
    }

    /// Spans dropped because a thread's ring, or the queue of spans made
    /// through the OpenTelemetry API, was full (the exporter could not keep
    /// up), or the pipeline had shut down.
    pub fn dropped_spans(&self) -> u64 {
        self.collector().map_or(0, Collector::dropped)
    }

    /// Spans handed to the processors so far.
    pub fn collected_spans(&self) -> u64 {
        self.collector().map_or(0, Collector::collected)
    }

    /// The in-process store of the embedded default, if it is in use.
    pub fn store(&self) -> Option<&TraceStore> {
        self.store.as_ref()
    }

    /// The SDK provider sharing this pipeline's processors (also installed as
    /// OpenTelemetry's global provider).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Flushes and shuts the export down. Spans ended afterwards are dropped
    /// and counted.
    pub fn shutdown(mut self) -> Result<(), FlushTimeout> {
        self.shutdown_inner()
    }

    /// spanflow's collector, when this guard installed its recording path
    /// (not with `OTEL_SDK_DISABLED`, nor for a given provider).
    fn collector(&self) -> Option<&'static Collector> {
        match self.recorder.map(|recorder| &recorder.backend) {
            Some(Backend::Fast(collector)) => Some(collector),
            Some(Backend::Api(_)) | None => None,
        }
    }

    fn shutdown_inner(&mut self) -> Result<(), FlushTimeout> {
        let result = match self.collector() {
            Some(collector) => collector
                .shutdown(self.shutdown_timeout)
                .map_err(|_| FlushTimeout),
            None => Ok(()),
        };
        self.provider = None;
        result
    }
}

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let _ = self.shutdown_inner();
    }
}
