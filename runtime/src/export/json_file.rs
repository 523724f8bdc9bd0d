//! The OTLP-JSON file sink.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// A `SpanExporter` appending to a file (or writing to standard output)
/// in the encoding of the OpenTelemetry Collector's file exporter and of
/// the OTLP file format: one OTLP/JSON `ExportTraceServiceRequest` per
/// line, so that spanflow's reports, the Collector's `otlpjsonfile`
/// receiver and other tools can read it back.
///
/// The encoding is opentelemetry-proto's, not spanflow's.
pub struct OtlpJsonFile {
    path: Option<PathBuf>,
    out: Mutex<Output>,
    resource: ResourceAttributesWithSchema,
}

/// Where the lines go.
enum Output {
    File(BufWriter<File>),
    Stdout(Stdout),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File(file) => file,
            Output::Stdout(stdout) => stdout,
        }
    }
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

    /// Writes to standard output, a line per export (each written whole
    /// under the standard output's lock, so that other output does not cut
    /// into it).
    pub fn stdout() -> Self {
        OtlpJsonFile {
            path: None,
            out: Mutex::new(Output::Stdout(std::io::stdout())),
            resource: ResourceAttributesWithSchema::default(),
        }
    }

    fn with_file(path: &Path, file: File) -> Self {
        OtlpJsonFile {
            path: Some(path.to_owned()),
            out: Mutex::new(Output::File(BufWriter::new(file))),
            resource: ResourceAttributesWithSchema::default(),
        }
    }

    /// The file written to; `None` for standard output.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn write(&self, batch: Vec<SpanData>) -> std::io::Result<()> {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *out {
            Output::File(file) => write_line(file, &request),
            // Encoded first: the lock is held for one write, not for the
            // encoding's many small ones.
            Output::Stdout(stdout) => {
                let mut line = serde_json::to_vec(&request)?;
                line.push(b'\n');
                let mut stdout = stdout.lock();
                stdout.write_all(&line)?;
                stdout.flush()
            }
        }
    }

    fn destination(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "standard output".to_owned(),
        }
    }
}

fn write_line(
    out: &mut BufWriter<File>,
    request: &ExportTraceServiceRequest,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, request)?;
    out.write_all(b"\n")?;
    out.flush()
}

impl SpanExporter for OtlpJsonFile {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch).map_err(|error| {
            OTelSdkError::InternalFailure(format!(
                "writing spans to {} failed: {error}",
                self.destination()
            ))
        })
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.writer()
            .flush()
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
