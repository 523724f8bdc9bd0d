//! OTLP export: choosing the endpoint and the protocol from code or the
//! standard environment variables.
//!
//! Every protocol goes through spanflow's own span processor, which encodes
//! each span straight into the protobuf request being built (see `batch` and
//! `encode` for why); OTLP/HTTP with JSON bodies is made from that request
//! when it is sent. It honours `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`,
//! `_TIMEOUT`, `_COMPRESSION` (`gzip` or `none`) and `_INSECURE` (for a gRPC
//! endpoint given as `host:port`), or what [`OtlpTarget`]'s `with_*`
//! methods give in their place, and the `OTEL_BSP_*` batch settings
//! (`OTEL_BSP_MAX_CONCURRENT_EXPORTS` sender threads send requests side by
//! side).
//! `https://` endpoints need the `tls` feature (see `tls` for the
//! certificates).

use std::sync::Arc;

use opentelemetry_sdk::trace::SpanProcessor;

use crate::collector::RecordSink;
use crate::config::{self, ConfigError, parse_bool, signal_var, var};
use crate::export_accounting::ExportCounters;

mod batch;
mod encode;
mod options;
mod retry;
mod tls;
mod transport;

pub use options::Compression;
pub use retry::Retry;

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: the base URL of every signal.
pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the URL for traces, used as given.
pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`
pub const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_INSECURE`: `true` sends to a gRPC endpoint given
/// without a scheme (`collector:4317`, as gRPC clients accept) over plain
/// HTTP/2; otherwise such an endpoint is `https://`. Endpoints with a scheme
/// keep it, as the specification says.
pub const INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
/// `OTEL_EXPORTER_OTLP_TRACES_INSECURE`: [`INSECURE`] for traces (wins).
pub const TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";

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
#[non_exhaustive]
pub struct OtlpTarget {
    /// The full URL spans are sent to (for HTTP, including `/v1/traces`).
    pub url: String,
    /// The protocol.
    pub protocol: OtlpProtocol,
    /// Retries of failed exports.
    pub retry: Retry,
    /// For `https://` URLs; see [`OtlpTarget::with_ca_certificate`].
    tls: tls::TlsSettings,
    /// Headers, timeout and compression given in code.
    request: options::RequestOverrides,
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
        Ok(OtlpTarget {
            url,
            protocol,
            retry: Retry::default(),
            tls: tls::TlsSettings::default(),
            request: options::RequestOverrides::default(),
        })
    }

    /// This target with other retry settings ([`Retry::none`] to never
    /// retry).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Sends this header (gRPC metadata) with every request: a vendor's API
    /// key, a tenant. Added to those of `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`;
    /// one of the same name (compared without case) is replaced. A name
    /// that is not an HTTP token, or a value with anything but visible ASCII
    /// characters, makes [`install`](crate::Pipeline::install) fail with a
    /// [`ConfigError`] naming this method.
    ///
    /// ```
    /// use std::time::Duration;
    /// use spanflow::otlp::{Compression, OtlpProtocol, OtlpTarget};
    ///
    /// let key = std::env::var("VENDOR_API_KEY").unwrap_or_default();
    /// let target = OtlpTarget::new("https://otlp.vendor.example", OtlpProtocol::HttpProtobuf)?
    ///     .with_header("x-api-key", key)
    ///     .with_timeout(Duration::from_secs(5))
    ///     .with_compression(Compression::Gzip);
    /// # Ok::<(), spanflow::ConfigError>(())
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// The longest one export may take, its retries and the waits between
    /// them included; overrides `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` (10 s
    /// by default). `OTEL_BSP_EXPORT_TIMEOUT` bounds it too. Zero means no
    /// limit, as it does for the variable.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }

    /// Compresses request bodies so; overrides
    /// `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION` (none by default).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.request.compression = Some(compression);
        self
    }

    /// Trusts the certificates in `pem` (one or more, PEM-encoded) as well
    /// as the system's roots when the URL is `https://`: a Collector with a
    /// self-signed or private-CA certificate. Overrides
    /// `OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE`, which names such a file.
    /// Needs the `tls` feature, like every `https://` target.
    pub fn with_ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_certificate = Some(pem.into());
        self
    }

    /// Presents this certificate chain and private key (both PEM) to a
    /// receiver that asks for a client certificate (mutual TLS). Overrides
    /// `OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_KEY`, which name such files.
    pub fn with_client_identity(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_identity = Some(tls::ClientIdentity {
            certificate: certificate_pem.into(),
            key: key_pem.into(),
        });
        self
    }

    /// Whether spans go over TLS.
    fn is_https(&self) -> bool {
        self.url.trim_start().starts_with("https:")
    }

    /// The target the environment names ([`OtlpTarget::from_env`]), or the
    /// specification's default endpoint (`http://localhost:4318` for
    /// OTLP/HTTP, `:4317` for gRPC) in the protocol it names, as
    /// `OTEL_TRACES_EXPORTER=otlp` uses. For settings in code on top of the
    /// environment's endpoint:
    ///
    /// ```no_run
    /// use spanflow::otlp::OtlpTarget;
    ///
    /// let key = std::env::var("VENDOR_API_KEY").unwrap_or_default();
    /// let target = OtlpTarget::from_env_or_default()?.with_header("x-api-key", key);
    /// let _tracing = spanflow::pipeline!().with_otlp(target).install()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env_or_default() -> Result<Self, ConfigError> {
        config::reading(OtlpTarget::read_from_env_or_default)
    }

    fn read_from_env_or_default() -> Result<Self, ConfigError> {
        if let Some(target) = OtlpTarget::read_from_env()? {
            return Ok(target);
        }
        let protocol = protocol_from_env()?;
        let endpoint = match protocol {
            OtlpProtocol::Grpc => "http://localhost:4317",
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => "http://localhost:4318",
        };
        OtlpTarget::resolve(ENDPOINT, endpoint, protocol, true)
    }

    /// The target `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` names, if either is
    /// set, in the protocol `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` names
    /// (and `_INSECURE` for a gRPC endpoint without a scheme). The request
    /// settings (headers, timeout, compression, certificates) are read at
    /// install, where those given in code win; a bad value of any of them
    /// is an error now already, naming the variable.
    ///
    /// With a configuration file (`OTEL_CONFIG_FILE`), the file's OTLP
    /// exporter takes the place of these variables.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        config::reading(OtlpTarget::read_from_env)
    }

    fn read_from_env() -> Result<Option<Self>, ConfigError> {
        // Read now so that a bad value is an installation error.
        options::RequestOptions::from_env()?;
        tls::TlsSettings::from_env()?;
        let protocol = protocol_from_env()?;
        let insecure = match signal_var(TRACES_INSECURE, INSECURE) {
            Some((variable, value)) => parse_bool(
                variable,
                &value,
                "plain HTTP/2 to a gRPC endpoint given without a scheme",
            )?,
            None => false,
        };
        if let Some(url) = var(TRACES_ENDPOINT) {
            let url = with_grpc_scheme(&url, protocol, insecure);
            return OtlpTarget::resolve(TRACES_ENDPOINT, &url, protocol, false).map(Some);
        }
        if let Some(endpoint) = var(ENDPOINT) {
            let endpoint = with_grpc_scheme(&endpoint, protocol, insecure);
            return OtlpTarget::resolve(ENDPOINT, &endpoint, protocol, true).map(Some);
        }
        Ok(None)
    }
}

/// `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`, OTLP/HTTP with protobuf when
/// neither is set.
fn protocol_from_env() -> Result<OtlpProtocol, ConfigError> {
    match signal_var(TRACES_PROTOCOL, PROTOCOL) {
        Some((variable, value)) => OtlpProtocol::parse(variable, &value),
        None => Ok(OtlpProtocol::HttpProtobuf),
    }
}

/// A gRPC endpoint given as `host:port` gets the scheme `insecure` says;
/// anything else is left for `validate_url`, which wants `http(s)://` (OTLP/
/// HTTP endpoints are URLs, and a scheme given is never overridden).
fn with_grpc_scheme(endpoint: &str, protocol: OtlpProtocol, insecure: bool) -> String {
    let endpoint = endpoint.trim();
    if protocol != OtlpProtocol::Grpc || endpoint.contains("://") {
        return endpoint.to_owned();
    }
    let scheme = if insecure { "http" } else { "https" };
    format!("{scheme}://{endpoint}")
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

/// The span processor exporting to a target.
pub(crate) struct OtlpExport {
    pub(crate) processor: Box<dyn SpanProcessor>,
    /// For spanflow's own OTLP processor, the handle the collector can give
    /// records to directly.
    pub(crate) direct: Option<Arc<dyn RecordSink>>,
}

/// The span processor exporting to `target`, counted in `counters`.
pub(crate) fn processor(
    target: &OtlpTarget,
    batch: crate::batch::BatchOptions,
    counters: &Arc<ExportCounters>,
) -> Result<OtlpExport, InstallFailure> {
    // Settings given in code win over the environment's, one by one.
    let request = options::RequestOptions::from_env()?.overridden_by(&target.request)?;
    let mut target = target.clone();
    target.tls = std::mem::take(&mut target.tls).or(tls::TlsSettings::from_env()?);
    let target = &target;
    if target.is_https() && !cfg!(feature = "tls") {
        return Err(format!(
            "{}: this build of spanflow has no TLS; enable its `tls` feature, or send to an \
             http:// endpoint (a local Collector or agent, which can forward over TLS)",
            target.url
        )
        .into());
    }
    let processor = Arc::new(batch::OtlpProcessor::start(
        target, request, batch, counters,
    )?);
    let direct: Arc<dyn RecordSink> = processor.clone();
    Ok(OtlpExport {
        processor: Box::new(batch::SharedOtlp(processor)),
        direct: Some(direct),
    })
}

/// Why the OTLP export could not be set up.
#[derive(Debug)]
pub(crate) enum InstallFailure {
    Config(ConfigError),
    Exporter(String),
}

impl From<ConfigError> for InstallFailure {
    fn from(error: ConfigError) -> Self {
        InstallFailure::Config(error)
    }
}

impl From<String> for InstallFailure {
    fn from(error: String) -> Self {
        InstallFailure::Exporter(error)
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

    #[cfg(not(feature = "tls"))]
    #[test]
    fn an_https_endpoint_without_the_tls_feature_is_refused_with_the_reason() {
        for protocol in [
            OtlpProtocol::Grpc,
            OtlpProtocol::HttpProtobuf,
            OtlpProtocol::HttpJson,
        ] {
            let target = OtlpTarget::new("https://collector.example:4318", protocol).unwrap();
            let counters = Arc::new(ExportCounters::default());
            let Err(InstallFailure::Exporter(error)) =
                processor(&target, crate::BatchOptions::default(), &counters)
            else {
                panic!("{protocol:?}: an https target was accepted without TLS");
            };
            assert!(error.contains("`tls` feature"), "{protocol:?}: {error}");
        }
    }

    #[test]
    fn a_grpc_endpoint_without_a_scheme_takes_it_from_insecure() {
        assert_eq!(
            with_grpc_scheme("collector:4317", OtlpProtocol::Grpc, true),
            "http://collector:4317"
        );
        assert_eq!(
            with_grpc_scheme(" collector:4317", OtlpProtocol::Grpc, false),
            "https://collector:4317"
        );
        // A scheme given wins over the setting, and HTTP endpoints must be
        // URLs already.
        assert_eq!(
            with_grpc_scheme("https://collector:4317", OtlpProtocol::Grpc, true),
            "https://collector:4317"
        );
        assert_eq!(
            with_grpc_scheme("collector:4318", OtlpProtocol::HttpProtobuf, true),
            "collector:4318"
        );
        assert_eq!(parse_bool(INSECURE, "TRUE", "plain"), Ok(true));
        assert_eq!(parse_bool(INSECURE, "false", "plain"), Ok(false));
        let error = parse_bool(TRACES_INSECURE, "yes", "plain").unwrap_err();
        assert_eq!(
            (error.variable, error.value.as_str()),
            (TRACES_INSECURE, "yes")
        );
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
