//! The OTLP-JSON file sink.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// A `SpanExporter` appending to a file in the encoding of the
/// OpenTelemetry Collector's file exporter: one OTLP/JSON
/// `ExportTraceServiceRequest` per line, so that spanflow's reports, the
/// Collector's `otlpjsonfile` receiver and other tools can read it back.
///
/// The encoding is opentelemetry-proto's, not spanflow's.
pub struct OtlpJsonFile {
    path: PathBuf,
    out: Mutex<BufWriter<File>>,
    resource: ResourceAttributesWithSchema,
}

impl OtlpJsonFile {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        Ok(OtlpJsonFile::with_file(path, File::create(path)?))
    }

    /// Appends to the file at `path`, creating it if needed.
    pub fn append(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(OtlpJsonFile::with_file(path, file))
    }

    fn with_file(path: &Path, file: File) -> Self {
        OtlpJsonFile {
            path: path.to_owned(),
            out: Mutex::new(BufWriter::new(file)),
            resource: ResourceAttributesWithSchema::default(),
        }
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, batch: Vec<SpanData>) -> std::io::Result<()> {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        serde_json::to_writer(&mut *out, &request)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

impl SpanExporter for OtlpJsonFile {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch).map_err(|error| {
            OTelSdkError::InternalFailure(format!(
                "writing spans to {} failed: {error}",
                self.path.display()
            ))
        })
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.flush()
            .map_err(|error| OTelSdkError::InternalFailure(error.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

impl fmt::Debug for OtlpJsonFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpJsonFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
