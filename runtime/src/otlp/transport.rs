//! Sending encoded `ExportTraceServiceRequest`s: OTLP/HTTP with reqwest's
//! blocking client (protobuf bodies, or JSON made from them), OTLP/gRPC with
//! tonic. Both live on the exporter's sender threads, which create and drop
//! them: reqwest's blocking client and a Tokio runtime both panic when
//! dropped inside an async context, which the thread that installs the
//! pipeline often is. Clones share one client (and connection pool), so
//! that sender threads can send side by side.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes};
use flate2::write::GzEncoder;
use http::uri::PathAndQuery;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic_types::StatusExt;

use super::options::{Compression, RequestOptions};
use super::retry::{MAX_RETRY_AFTER, SendError, transient_grpc_code, transient_http_status};
use super::{OtlpProtocol, OtlpTarget};
use crate::timeout::NO_LIMIT;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The most of an OTLP/HTTP answer read, as tonic caps a gRPC message: a
/// collector's answer is a few bytes, and an endpoint that is not one (a
/// proxy's error page, a misconfigured URL) must not make the exporter
/// buffer without bound. An answer cut short still has its status.
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// What the OTLP specification asks exporters to send as `User-Agent`:
/// the exporter, its language and its version (a header given through
/// `OTEL_EXPORTER_OTLP_HEADERS` or in code replaces it over HTTP; tonic
/// adds its own name after it over gRPC).
const USER_AGENT: &str = concat!("spanflow-OTLP-Exporter-Rust/", env!("CARGO_PKG_VERSION"));

/// What the receiver made of a request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Spans the receiver said it rejected (OTLP partial success).
    pub(crate) rejected: u64,
}

#[derive(Clone)]
pub(crate) enum Transport {
    Http {
        client: reqwest::blocking::Client,
        url: String,
        options: RequestOptions,
        encoding: Body,
    },
    Grpc(Box<GrpcTransport>),
}

#[derive(Clone)]
pub(crate) struct GrpcTransport {
    /// Shared by the sender threads; each drives its own requests on it.
    runtime: Arc<tokio::runtime::Runtime>,
    client: tonic::client::Grpc<tonic::transport::Channel>,
    options: RequestOptions,
}

impl Transport {
    /// Sets up the client; the connection itself is made by the first
    /// request, so a receiver that is not up yet is an export error later,
    /// not an installation failure.
    pub(crate) fn connect(target: &OtlpTarget, options: RequestOptions) -> Result<Self, String> {
        match target.protocol {
            OtlpProtocol::Grpc => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("spanflow-otlp-grpc")
                    .enable_all()
                    .build()
                    .map_err(|error| format!("could not start the OTLP/gRPC runtime: {error}"))?;
                let channel = {
                    let _entered = runtime.enter();
                    let endpoint = tonic::transport::Endpoint::from_shared(target.url.clone())
                        .and_then(|endpoint| endpoint.user_agent(USER_AGENT))
                        .map_err(|error| format!("OTLP/gRPC endpoint {}: {error}", target.url))?
                        .timeout(options.timeout.min(NO_LIMIT))
                        .connect_timeout(options.timeout.min(NO_LIMIT));
                    #[cfg(feature = "tls")]
                    let endpoint = if target.is_https() {
                        endpoint
                            .tls_config(target.tls.tonic_config())
                            .map_err(|error| format!("OTLP/gRPC TLS for {}: {error}", target.url))?
                    } else {
                        endpoint
                    };
                    endpoint.connect_lazy()
                };
                let mut client = tonic::client::Grpc::new(channel);
                if options.compression == Compression::Gzip {
                    client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Ok(Transport::Grpc(Box::new(GrpcTransport {
                    runtime: Arc::new(runtime),
                    client,
                    options,
                })))
            }
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let builder = reqwest::blocking::Client::builder()
                    .timeout(options.timeout.min(NO_LIMIT))
                    .user_agent(USER_AGENT);
                #[cfg(feature = "tls")]
                let builder = target.tls.apply_to_reqwest(builder)?;
                let client = builder
                    .build()
                    .map_err(|error| format!("OTLP/HTTP client: {error}"))?;
                Ok(Transport::Http {
                    client,
                    url: target.url.clone(),
                    options,
                    encoding: match target.protocol {
                        OtlpProtocol::HttpJson => Body::Json,
                        _ => Body::Protobuf,
                    },
                })
            }
        }
    }

    /// The body to send for an encoded request, made once for all of its
    /// attempts: for OTLP/HTTP, in its encoding and compressed as
    /// configured (tonic compresses gRPC messages itself).
    pub(crate) fn prepare(&self, request: Bytes) -> Result<Bytes, SendError> {
        let Transport::Http {
            options, encoding, ..
        } = self
        else {
            return Ok(request);
        };
        let body = match encoding {
            Body::Protobuf => request,
            Body::Json => to_json(&request)?,
        };
        match options.compression {
            Compression::None => Ok(body),
            Compression::Gzip => gzip(&body)
                .map(Bytes::from)
                .map_err(|error| SendError::permanent(format!("gzip: {error}"))),
        }
    }

    /// The request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub(crate) fn timeout(&self) -> Duration {
        match self {
            Transport::Http { options, .. } => options.timeout,
            Transport::Grpc(grpc) => grpc.options.timeout,
        }
    }

    /// Sends one body from [`Transport::prepare`], blocking until the
    /// receiver answers or `timeout` passes (what is left of the export's
    /// time: at most the request timeout).
    pub(crate) fn send(&mut self, body: &Bytes, timeout: Duration) -> Result<Accepted, SendError> {
        match self {
            Transport::Http {
                client,
                url,
                options,
                encoding,
            } => send_http(client, url, options, body, *encoding, timeout),
            Transport::Grpc(grpc) => {
                let GrpcTransport {
                    runtime,
                    client,
                    options,
                } = &mut **grpc;
                runtime.block_on(send_grpc(client, options, body, timeout))
            }
        }
    }
}

/// An OTLP/HTTP body's encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    Protobuf,
    Json,
}

/// The OTLP/JSON form of an encoded request, by opentelemetry-proto's serde
/// mapping (hex ids, integers for enums, 64-bit numbers as strings).
/// Requests are built as protobuf, which is spanflow's fast path; JSON is
/// the slow protocol, used where protobuf cannot go (browsers, some
/// proxies), so it pays for one decode more rather than a second encoder.
fn to_json(body: &Bytes) -> Result<Bytes, SendError> {
    let request = ExportTraceServiceRequest::decode(body.as_ref())
        .map_err(|error| SendError::permanent(format!("re-reading the request: {error}")))?;
    serde_json::to_vec(&request)
        .map(Bytes::from)
        .map_err(|error| SendError::permanent(format!("OTLP/JSON: {error}")))
}

fn send_http(
    client: &reqwest::blocking::Client,
    url: &str,
    options: &RequestOptions,
    body: &Bytes,
    encoding: Body,
    timeout: Duration,
) -> Result<Accepted, SendError> {
    let content_type = match encoding {
        Body::Protobuf => "application/x-protobuf",
        Body::Json => "application/json",
    };
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header(http::header::CONTENT_TYPE, content_type);
    for (key, value) in &options.headers {
        request = request.header(key.as_str(), value.as_str());
    }
    if options.compression == Compression::Gzip {
        request = request.header(http::header::CONTENT_ENCODING, "gzip");
    }
    // A clone of `Bytes` shares the buffer: kept for a retry, not copied.
    let request = request.body(body.clone());
    let response = request.send().map_err(|error| {
        // Could not connect, no answer in time, connection lost: all pass.
        if error.is_builder() {
            SendError::permanent(error.to_string())
        } else {
            SendError::transient(error.to_string())
        }
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|value| retry_after(value.to_str().ok()?, SystemTime::now()));
    let mut body = Vec::new();
    response
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut body)
        .map_err(|error| SendError::transient(error.to_string()))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(SendError {
            message: format!("HTTP {status}: {text}"),
            transient: transient_http_status(status.as_u16()),
            retry_after,
        });
    }
    // An answer that does not parse still means success; only a partial
    // success's count is read from it.
    let response = match encoding {
        Body::Protobuf => ExportTraceServiceResponse::decode(body.as_slice()).unwrap_or_default(),
        Body::Json => serde_json::from_slice(&body).unwrap_or_default(),
    };
    Ok(accepted(response))
}

async fn send_grpc(
    client: &mut tonic::client::Grpc<tonic::transport::Channel>,
    options: &RequestOptions,
    body: &Bytes,
    timeout: Duration,
) -> Result<Accepted, SendError> {
    let mut request = tonic::Request::new(body.clone());
    request.set_timeout(timeout);
    for (key, value) in &options.headers {
        let key = MetadataKey::from_bytes(key.as_bytes())
            .map_err(|error| SendError::permanent(error.to_string()))?;
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|error| SendError::permanent(error.to_string()))?;
        request.metadata_mut().insert(key, value);
    }
    let send = async {
        client
            .ready()
            .await
            .map_err(|error| SendError::transient(error.to_string()))?;
        client
            .unary(request, PathAndQuery::from_static(EXPORT_PATH), RawCodec)
            .await
            .map_err(|status| grpc_error(&status))
    };
    // The channel's timeout covers a request once sent; this also bounds
    // waiting for a connection.
    let response = tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| SendError::transient(format!("no answer within {timeout:?}")))??;
    Ok(accepted(response.into_inner()))
}

/// A gRPC failure, with the delay the receiver asked for in a `RetryInfo`
/// detail, which also makes `RESOURCE_EXHAUSTED` worth retrying: the
/// specification's "recovery is possible" signal.
fn grpc_error(status: &tonic::Status) -> SendError {
    let retry_after = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .map(|delay| delay.min(MAX_RETRY_AFTER));
    let code = status.code();
    SendError {
        message: format!("gRPC {code:?}: {}", status.message()),
        transient: transient_grpc_code(code)
            || (code == tonic::Code::ResourceExhausted && retry_after.is_some()),
        retry_after,
    }
}

/// An HTTP `Retry-After`, in seconds or as an HTTP date, at most
/// [`MAX_RETRY_AFTER`]; a date already past asks for no wait.
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or_default(),
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

fn accepted(response: ExportTraceServiceResponse) -> Accepted {
    Accepted {
        rejected: response.partial_success.map_or(0, |partial| {
            u64::try_from(partial.rejected_spans).unwrap_or(0)
        }),
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

/// Sends bytes already encoded as an `ExportTraceServiceRequest`; decodes
/// the answer with opentelemetry-proto's type.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| tonic::Status::internal(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::ErrorDetails;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        // 21 Oct 2015 07:28:00 GMT is `now`; 07:28:10 is 10 s later.
        let later = "Wed, 21 Oct 2015 07:28:10 GMT";
        assert_eq!(retry_after(later, now), Some(Duration::from_secs(10)));
        let past = "Wed, 21 Oct 2015 07:27:00 GMT";
        assert_eq!(retry_after(past, now), Some(Duration::ZERO));
        assert_eq!(retry_after("3600", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn a_grpc_retry_info_sets_the_wait_and_makes_resource_exhausted_transient() {
        let throttled = tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(1_500))),
        );
        let error = grpc_error(&throttled);
        assert!(error.transient);
        assert_eq!(error.retry_after, Some(Duration::from_millis(1_500)));

        let exhausted = grpc_error(&tonic::Status::resource_exhausted("no hint"));
        assert!(!exhausted.transient, "no sign that a retry can succeed");
        assert_eq!(exhausted.retry_after, None);

        let unavailable = grpc_error(&tonic::Status::with_error_details(
            tonic::Code::Unavailable,
            "restarting",
            ErrorDetails::with_retry_info(Some(Duration::from_secs(600))),
        ));
        assert!(unavailable.transient);
        assert_eq!(unavailable.retry_after, Some(MAX_RETRY_AFTER));
    }
}
