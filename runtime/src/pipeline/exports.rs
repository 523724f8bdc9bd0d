//! The exports a [`Pipeline`](super::Pipeline) is given, held until it is
//! installed: batch exports start then, with the pipeline's batch options,
//! whichever builder method came first.

use std::fmt;
use std::sync::Arc;

use opentelemetry_sdk::trace::{SpanExporter, SpanProcessor};

use super::simple::SimpleExport;
use crate::batch::{BatchOptions, ExporterBatch};
use crate::config::{self, ConfigError};
use crate::export_accounting::ExportCounters;
use crate::guard::InstallError;

/// Starts a batch export once its options are known.
type StartBatch = Box<
    dyn FnOnce(BatchOptions, &Arc<ExportCounters>) -> Result<Box<dyn SpanProcessor>, InstallError>
        + Send
        + Sync,
>;

pub(super) enum Export {
    /// A processor taking spans as they are.
    Ready(Box<dyn SpanProcessor>),
    /// An exporter behind spanflow's batching.
    Batched(StartBatch),
}

impl Export {
    /// `exporter` given each span as it ends.
    pub(super) fn simple<E: SpanExporter + 'static>(exporter: E) -> Self {
        Export::Ready(Box::new(SimpleExport::new(exporter)))
    }

    pub(super) fn batched<E: SpanExporter + 'static>(exporter: E) -> Self {
        Export::Batched(Box::new(move |options, counters| {
            Ok(Box::new(start(exporter, options, counters)?))
        }))
    }

    /// The processor, a batch export started with `options` (read only
    /// when one is needed, so that `OTEL_BSP_*` are not read otherwise).
    pub(super) fn start(
        self,
        options: impl FnOnce() -> Result<BatchOptions, ConfigError>,
        counters: &Arc<ExportCounters>,
    ) -> Result<Box<dyn SpanProcessor>, InstallError> {
        match self {
            Export::Ready(processor) => Ok(processor),
            Export::Batched(start) => start(options()?, counters),
        }
    }
}

impl fmt::Debug for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Export::Ready(processor) => processor.fmt(f),
            Export::Batched(_) => f.write_str("Batched(..)"),
        }
    }
}

/// `exporter` behind spanflow's batching.
fn start<E: SpanExporter + 'static>(
    exporter: E,
    options: BatchOptions,
    counters: &Arc<ExportCounters>,
) -> Result<ExporterBatch<E>, InstallError> {
    ExporterBatch::start(exporter, options, counters).map_err(InstallError::Thread)
}

#[cfg(feature = "json-file")]
pub(super) fn json_file(
    path: &std::path::Path,
    options: BatchOptions,
    counters: &Arc<ExportCounters>,
) -> Result<Box<dyn SpanProcessor>, InstallError> {
    let file = crate::export::OtlpJsonFile::create(path).map_err(|error| {
        InstallError::Config(ConfigError::new(
            config::SPANFLOW_EXPORT,
            format!("json:{}", path.display()),
            format!("cannot create the file: {error}"),
        ))
    })?;
    Ok(Box::new(start(file, options, counters)?))
}

/// A configuration file's `otlp_file/development` export.
#[cfg(feature = "json-file")]
pub(super) fn otlp_file(export: &config::OtlpFileExport) -> Result<Export, InstallError> {
    let file = match &export.path {
        None => crate::export::OtlpJsonFile::stdout(),
        Some(path) => crate::export::OtlpJsonFile::append(path).map_err(|error| {
            InstallError::Config(export.error(format_args!(
                "cannot open {} to append spans: {error}",
                path.display()
            )))
        })?,
    };
    Ok(if export.batched {
        Export::batched(file)
    } else {
        Export::simple(file)
    })
}

#[cfg(not(feature = "json-file"))]
pub(super) fn otlp_file(export: &config::OtlpFileExport) -> Result<Export, InstallError> {
    Err(InstallError::Config(export.error(
        "spanflow was built without its `json-file` feature",
    )))
}

#[cfg(not(feature = "json-file"))]
pub(super) fn json_file(
    path: &std::path::Path,
    _options: BatchOptions,
    _counters: &Arc<ExportCounters>,
) -> Result<Box<dyn SpanProcessor>, InstallError> {
    Err(InstallError::Config(ConfigError::new(
        config::SPANFLOW_EXPORT,
        format!("json:{}", path.display()),
        "spanflow was built without its `json-file` feature",
    )))
}
