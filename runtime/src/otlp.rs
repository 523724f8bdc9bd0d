//! OTLP export through opentelemetry-otlp: choosing the endpoint and the
//! protocol from code or the standard environment variables.

use std::fmt;
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use std::sync::Arc;

use crate::export_accounting::{CountedBatch, ExportCounters, counted_batch};

use crate::config::{ConfigError, var};

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: the base URL of every signal.
pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the URL for traces, used as given.
pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`
pub const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";

/// The batch processor's settings, read by the SDK; validated here because
/// the SDK ignores a value it cannot parse.
const BATCH_VARIABLES: [&str; 5] = [
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
];

/// An OTLP transport and encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `grpc`: OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// `http/protobuf`: OTLP/HTTP with protobuf bodies (port 4318); the
    /// specification's default.
    HttpProtobuf,
    /// `http/json`: OTLP/HTTP with JSON bodies (port 4318).
    HttpJson,
}

impl OtlpProtocol {
    /// Parses the value of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn parse(variable: &'static str, value: &str) -> Result<Self, ConfigError> {
        match value.trim() {
            "grpc" => Ok(OtlpProtocol::Grpc),
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "http/json" => Ok(OtlpProtocol::HttpJson),
            other => Err(ConfigError::new(
                variable,
                other,
                "unknown OTLP protocol; expected grpc, http/protobuf or http/json",
            )),
        }
    }
}

/// Where and how to send spans over OTLP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpTarget {
    /// The full URL spans are sent to (for HTTP, including `/v1/traces`).
    pub url: String,
    /// The protocol.
    pub protocol: OtlpProtocol,
}

impl OtlpTarget {
    /// A target from a base endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` gives
    /// it: for HTTP, `/v1/traces` is appended.
    pub fn new(endpoint: &str, protocol: OtlpProtocol) -> Result<Self, ConfigError> {
        OtlpTarget::resolve("endpoint", endpoint, protocol, true)
    }

    fn resolve(
        variable: &'static str,
        endpoint: &str,
        protocol: OtlpProtocol,
        append_signal_path: bool,
    ) -> Result<Self, ConfigError> {
        validate_url(variable, endpoint)?;
        let endpoint = endpoint.trim();
        let url = match protocol {
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson if append_signal_path => {
                format!("{}/v1/traces", endpoint.trim_end_matches('/'))
            }
            _ => endpoint.to_owned(),
        };
        Ok(OtlpTarget { url, protocol })
    }

    /// The target the environment names, if any.
    pub(crate) fn from_env() -> Result<Option<Self>, ConfigError> {
        for variable in BATCH_VARIABLES {
            if let Some(value) = var(variable) {
                value.trim().parse::<u64>().map_err(|_| {
                    ConfigError::new(
                        variable,
                        value.clone(),
                        "expected a whole number (milliseconds or a count)",
                    )
                })?;
            }
        }
        let protocol = match (var(TRACES_PROTOCOL), var(PROTOCOL)) {
            (Some(value), _) => OtlpProtocol::parse(TRACES_PROTOCOL, &value)?,
            (None, Some(value)) => OtlpProtocol::parse(PROTOCOL, &value)?,
            (None, None) => OtlpProtocol::HttpProtobuf,
        };
        if let Some(url) = var(TRACES_ENDPOINT) {
            return OtlpTarget::resolve(TRACES_ENDPOINT, &url, protocol, false).map(Some);
        }
        if let Some(endpoint) = var(ENDPOINT) {
            return OtlpTarget::resolve(ENDPOINT, &endpoint, protocol, true).map(Some);
        }
        Ok(None)
    }
}

fn validate_url(variable: &'static str, value: &str) -> Result<(), ConfigError> {
    let uri: http::Uri = value
        .trim()
        .parse()
        .map_err(|error| ConfigError::new(variable, value, format!("not a URL: {error}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        (Some("http" | "https"), _) => {
            Err(ConfigError::new(variable, value, "the URL has no host"))
        }
        _ => Err(ConfigError::new(
            variable,
            value,
            "the URL must start with http:// or https://",
        )),
    }
}

/// A batch processor exporting to `target`, counted in `counters`.
pub(crate) fn processor(
    target: &OtlpTarget,
    counters: &Arc<ExportCounters>,
) -> Result<CountedBatch, String> {
    let processor = match target.protocol {
        OtlpProtocol::Grpc => counted_batch(TokioExporter::grpc(&target.url)?, counters),
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
            let protocol = if target.protocol == OtlpProtocol::HttpJson {
                Protocol::HttpJson
            } else {
                Protocol::HttpBinary
            };
            // The blocking reqwest client runs on the batch processor's own
            // thread; the async one would need a Tokio reactor there.
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(target.url.clone())
                .build()
                .map_err(|error| format!("OTLP/HTTP exporter for {}: {error}", target.url))?;
            counted_batch(exporter, counters)
        }
    };
    Ok(processor)
}

/// The OTLP/gRPC exporter with the Tokio runtime tonic needs.
///
/// The SDK's batch processor exports from a plain thread through
/// `futures_executor::block_on`, where tonic's connections find no Tokio
/// reactor and panic (opentelemetry-rust issue 2673 and its many
/// duplicates). This adapter owns a one-thread runtime, builds the channel
/// inside it and runs each export on it.
struct TokioExporter {
    runtime: tokio::runtime::Runtime,
    inner: opentelemetry_otlp::SpanExporter,
}

impl TokioExporter {
    fn grpc(url: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("spanflow-otlp-grpc")
            .enable_all()
            .build()
            .map_err(|error| format!("could not start the OTLP/gRPC runtime: {error}"))?;
        let inner = {
            let _entered = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(url.to_owned())
                .build()
                .map_err(|error| format!("OTLP/gRPC exporter for {url}: {error}"))?
        };
        Ok(TokioExporter { runtime, inner })
    }
}

impl SpanExporter for TokioExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Called from inside a Tokio runtime (a custom processor): block
            // this thread, not the runtime.
            return Err(OTelSdkError::InternalFailure(
                "the OTLP/gRPC exporter must be driven from its batch processor's thread".into(),
            ));
        }
        self.runtime.block_on(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl fmt::Debug for TokioExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioExporter")
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_get_the_signal_path_and_grpc_ones_do_not() {
        let http = OtlpTarget::new("http://127.0.0.1:4318/", OtlpProtocol::HttpProtobuf).unwrap();
        assert_eq!(http.url, "http://127.0.0.1:4318/v1/traces");
        let grpc = OtlpTarget::new("http://127.0.0.1:4317", OtlpProtocol::Grpc).unwrap();
        assert_eq!(grpc.url, "http://127.0.0.1:4317");
    }

    #[test]
    fn malformed_urls_and_protocols_name_the_variable() {
        let error =
            OtlpTarget::resolve(ENDPOINT, "localhost:4317", OtlpProtocol::Grpc, true).unwrap_err();
        assert_eq!(
            (error.variable, error.value.as_str()),
            (ENDPOINT, "localhost:4317")
        );
        let error =
            OtlpTarget::resolve(TRACES_ENDPOINT, "http://", OtlpProtocol::Grpc, false).unwrap_err();
        assert_eq!(error.variable, TRACES_ENDPOINT);
        let error =
            OtlpTarget::resolve(ENDPOINT, "not a url", OtlpProtocol::Grpc, false).unwrap_err();
        assert!(error.reason.starts_with("not a URL"), "{error}");
        let error = OtlpProtocol::parse(PROTOCOL, "thrift").unwrap_err();
        assert_eq!((error.variable, error.value.as_str()), (PROTOCOL, "thrift"));
    }
}
