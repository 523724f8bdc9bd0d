//! A real OTLP receiver on 127.0.0.1, for spanflow's tests and benchmarks: OTLP/gRPC (opentelemetry-proto's
//! `TraceService` on tonic) and OTLP/HTTP (`POST /v1/traces` with protobuf or
//! JSON bodies), keeping every request it was sent.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::io::Read;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic_types::{ErrorDetails, StatusExt};

mod tls;

pub use tls::SelfSigned;
use tls::{ServerTls, TlsListener};

/// The name of every thread the receiver runs on.
pub const RECEIVER_THREAD: &str = "otlp-receiver";

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `grpc`, `http/protobuf` or `http/json`.
    pub protocol: &'static str,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
    /// The request's headers (gRPC metadata), names in lower case; values
    /// that are not text are left out.
    pub headers: Vec<(String, String)>,
}

/// What the endpoints share with the handle.
#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    /// A [`Behaviour`].
    mode: AtomicU8,
    /// Spans received while counting.
    counted: AtomicU64,
    /// Requests taken and never answered.
    held: AtomicU64,
    /// Requests that reached an endpoint, however they were answered.
    requests: AtomicU64,
    /// How long each request waits before it is handled, in microseconds.
    answer_delay_us: AtomicU64,
    /// Bytes of [`Behaviour::Flood`] answers handed to connections.
    flooded: AtomicU64,
}

impl State {
    fn behaviour(&self) -> Behaviour {
        match self.mode.load(Ordering::Relaxed) {
            1 => Behaviour::Fail,
            2 => Behaviour::Stall,
            3 => Behaviour::Count,
            4 => Behaviour::Reject,
            5 => Behaviour::Throttle,
            6 => Behaviour::Flood,
            _ => Behaviour::Accept,
        }
    }

    /// Waits the answer delay, then says how to answer; a stalled request
    /// is counted and never answered.
    async fn answer(&self) -> Behaviour {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let delay = self.answer_delay_us.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_micros(delay)).await;
        }
        match self.behaviour() {
            Behaviour::Stall => {
                self.held.fetch_add(1, Ordering::Relaxed);
                std::future::pending().await
            }
            behaviour => behaviour,
        }
    }

    fn record(
        &self,
        protocol: &'static str,
        request: ExportTraceServiceRequest,
        headers: Vec<(String, String)>,
    ) {
        if self.behaviour() == Behaviour::Count {
            self.counted
                .fetch_add(span_count(&request) as u64, Ordering::Relaxed);
            return;
        }
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Received {
                protocol,
                request,
                headers,
            });
    }
}

/// Polls `counter` until it reaches `count` or `deadline` passes.
fn wait_for(counter: &AtomicU64, count: u64, deadline: std::time::Instant) -> u64 {
    loop {
        let seen = counter.load(Ordering::Relaxed);
        if seen >= count || std::time::Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How the receiver answers, for fault tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Behaviour {
    /// Keep every request and answer success (the default).
    Accept = 0,
    /// Answer every request with an error (HTTP 503, gRPC UNAVAILABLE),
    /// keeping nothing.
    Fail = 1,
    /// Take the request and never answer, like a collector that hung
    /// ([`OtlpReceiver::held_requests`] counts them).
    Stall = 2,
    /// Answer success and keep only a count of spans (for soak runs, where
    /// keeping everything would grow the receiver, not the process tested).
    Count = 3,
    /// Answer success with every span rejected (an OTLP partial success),
    /// keeping nothing.
    Reject = 4,
    /// Ask the client to come back later, keeping nothing: HTTP 429 with
    /// `Retry-After: 1`, gRPC `RESOURCE_EXHAUSTED` with a `RetryInfo` of
    /// [`THROTTLE_DELAY`].
    Throttle = 5,
    /// Keep the request and answer OTLP/HTTP success with a body of
    /// [`FLOOD_BYTES`] made as the client reads it, like an endpoint that
    /// is not a collector ([`OtlpReceiver::flooded_bytes`] counts what left).
    /// gRPC answers as [`Behaviour::Accept`]: tonic already caps a message
    /// at 4 MiB.
    Flood = 6,
}

/// The length of a [`Behaviour::Flood`] answer.
pub const FLOOD_BYTES: u64 = 1 << 30;

/// One piece of a [`Behaviour::Flood`] answer.
static FLOOD_CHUNK: [u8; 64 * 1024] = [0; 64 * 1024];

/// The wait a throttling gRPC endpoint asks for ([`Behaviour::Throttle`]).
pub const THROTTLE_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    /// `http` or `https`.
    scheme: &'static str,
    grpc: SocketAddr,
    http: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts both endpoints on ephemeral loopback ports.
    pub fn start() -> std::io::Result<Self> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        OtlpReceiver::start_at(any, any)
    }

    /// Starts both endpoints on these addresses: a receiver stopped (dropped)
    /// and started again on the addresses it had is a collector restarting.
    pub fn start_at(grpc: SocketAddr, http: SocketAddr) -> std::io::Result<Self> {
        OtlpReceiver::start_with(grpc, http, None)
    }

    /// Starts both endpoints on ephemeral loopback ports, serving TLS with
    /// `identity` (see [`SelfSigned::generate`]); clients must trust it.
    pub fn start_tls(identity: SelfSigned) -> std::io::Result<Self> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let tls = ServerTls {
            identity,
            client_ca_pem: None,
        };
        OtlpReceiver::start_with(any, any, Some(tls))
    }

    /// Like [`OtlpReceiver::start_tls`], and every client must present a
    /// certificate that `client_ca_pem` signed (mutual TLS).
    pub fn start_mutual_tls(identity: SelfSigned, client_ca_pem: String) -> std::io::Result<Self> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let tls = ServerTls {
            identity,
            client_ca_pem: Some(client_ca_pem),
        };
        OtlpReceiver::start_with(any, any, Some(tls))
    }

    fn start_with(
        grpc: SocketAddr,
        http: SocketAddr,
        tls: Option<ServerTls>,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            // Named, so that measurements can leave the receiver's CPU out.
            .thread_name(RECEIVER_THREAD)
            .enable_all()
            .build()?;
        let grpc_listener = runtime.block_on(tokio::net::TcpListener::bind(grpc))?;
        let http_listener = runtime.block_on(tokio::net::TcpListener::bind(http))?;
        let (grpc, http) = (grpc_listener.local_addr()?, http_listener.local_addr()?);
        let state = Arc::new(State::default());
        let (stop, stopped) = oneshot::channel::<()>();

        let grpc_service = TraceServiceServer::new(GrpcService(Arc::clone(&state)))
            .accept_compressed(CompressionEncoding::Gzip);
        let http_state = Arc::clone(&state);
        let http_app = Router::new().route(
            "/v1/traces",
            post(move |headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&http_state);
                async move {
                    match state.answer().await {
                        Behaviour::Fail => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                        Behaviour::Throttle => {
                            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")])
                                .into_response()
                        }
                        Behaviour::Flood => {
                            let (status, content_type, _) = receive_http(&state, &headers, &body);
                            (status, content_type, flood(state)).into_response()
                        }
                        _ => receive_http(&state, &headers, &body).into_response(),
                    }
                }
            }),
        );
        let mut grpc_server = tonic::transport::Server::builder();
        let http_server: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match &tls {
            Some(tls) => {
                grpc_server = grpc_server
                    .tls_config(tls.tonic_config())
                    .map_err(std::io::Error::other)?;
                let listener = TlsListener::new(http_listener, tls)?;
                Box::pin(axum::serve(listener, http_app).into_future())
            }
            None => Box::pin(axum::serve(http_listener, http_app).into_future()),
        };
        let thread = std::thread::Builder::new()
            .name(RECEIVER_THREAD.into())
            .spawn(move || {
                runtime.block_on(async move {
                    let grpc = grpc_server.add_service(grpc_service).serve_with_incoming(
                        // As collectors do: without it, Nagle's algorithm holds a
                        // response's later frames for the client's delayed ACK.
                        tonic::transport::server::TcpIncoming::from(grpc_listener)
                            .with_nodelay(Some(true)),
                    );
                    tokio::select! {
                        _ = grpc => {}
                        _ = http_server => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(OtlpReceiver {
            scheme: if tls.is_some() { "https" } else { "http" },
            grpc,
            http,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Changes how requests are answered from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state.mode.store(behaviour as u8, Ordering::Relaxed);
    }

    /// Makes every request from now on wait `delay` before it is handled,
    /// like a receiver a network round trip away.
    pub fn set_answer_delay(&self, delay: std::time::Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.state.answer_delay_us.store(micros, Ordering::Relaxed);
    }

    /// Spans received while counting ([`Behaviour::Count`]).
    pub fn counted_spans(&self) -> u64 {
        self.state.counted.load(Ordering::Relaxed)
    }

    /// Bytes of [`Behaviour::Flood`] answers handed to connections so far:
    /// what a client read, plus what the sockets' buffers hold.
    pub fn flooded_bytes(&self) -> u64 {
        self.state.flooded.load(Ordering::Relaxed)
    }

    /// Requests taken and never answered ([`Behaviour::Stall`]) so far:
    /// how many a client had in flight at once.
    pub fn held_requests(&self) -> u64 {
        self.state.held.load(Ordering::Relaxed)
    }

    /// Waits until `count` requests are held, at most until `deadline`;
    /// returns how many are held then (more than `count` only if more came
    /// meanwhile).
    pub fn wait_for_held_requests(&self, count: u64, deadline: std::time::Instant) -> u64 {
        wait_for(&self.state.held, count, deadline)
    }

    /// Requests that reached an endpoint so far, however they were
    /// answered (retries included).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Waits until `count` requests have reached an endpoint, at most until
    /// `deadline`; returns how many have then.
    pub fn wait_for_requests(&self, count: u64, deadline: std::time::Instant) -> u64 {
        wait_for(&self.state.requests, count, deadline)
    }

    /// The gRPC and HTTP addresses, for [`OtlpReceiver::start_at`].
    pub fn addresses(&self) -> (SocketAddr, SocketAddr) {
        (self.grpc, self.http)
    }

    /// `http://127.0.0.1:PORT` of the gRPC endpoint (`https://` when
    /// serving TLS).
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.grpc)
    }

    /// `http://127.0.0.1:PORT`, the base of the HTTP endpoint (`https://`
    /// when serving TLS).
    pub fn http_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.http)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every span received, with its resource's attributes.
    pub fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        self.received()
            .into_iter()
            .flat_map(|received| received.request.resource_spans)
            .flat_map(|resource_spans| {
                let attributes = resource_spans
                    .resource
                    .map(|r| r.attributes)
                    .unwrap_or_default();
                resource_spans
                    .scope_spans
                    .into_iter()
                    .flat_map(|scope| scope.spans)
                    .map(move |span| (attributes.clone(), span))
            })
            .collect()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A string attribute's value.
pub fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(AnyValue::StringValue(value)) => Some(value.clone()),
            _ => None,
        })
}

/// An integer attribute's value.
pub fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(AnyValue::IntValue(value)) => Some(*value),
            _ => None,
        })
}

struct GrpcService(Arc<State>);

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.0.answer().await {
            Behaviour::Fail => return Err(tonic::Status::unavailable("failing on purpose")),
            Behaviour::Throttle => {
                return Err(tonic::Status::with_error_details(
                    tonic::Code::ResourceExhausted,
                    "throttling on purpose",
                    ErrorDetails::with_retry_info(Some(THROTTLE_DELAY)),
                ));
            }
            Behaviour::Reject => {
                return Ok(tonic::Response::new(rejecting(request.get_ref())));
            }
            Behaviour::Accept | Behaviour::Count | Behaviour::Stall | Behaviour::Flood => {}
        }
        let headers = header_list(&request.metadata().clone().into_headers());
        self.0.record("grpc", request.into_inner(), headers);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A [`Behaviour::Flood`] answer's body, made as the connection takes it
/// (so a client that stops reading stops it), counted as it goes.
fn flood(state: Arc<State>) -> axum::body::Body {
    let chunks = FLOOD_BYTES / FLOOD_CHUNK.len() as u64;
    axum::body::Body::from_stream(futures::stream::iter((0..chunks).map(move |_| {
        state
            .flooded
            .fetch_add(FLOOD_CHUNK.len() as u64, Ordering::Relaxed);
        Ok::<_, std::convert::Infallible>(Bytes::from_static(&FLOOD_CHUNK))
    })))
}

/// A partial success that rejects every span of `request`.
fn rejecting(request: &ExportTraceServiceRequest) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: span_count(request) as i64,
            error_message: "rejecting on purpose".into(),
        }),
    }
}

fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len())
        .sum()
}

fn receive_http(
    state: &State,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let gzipped = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|value| value == "gzip");
    let mut unzipped = Vec::new();
    let body = if gzipped {
        match GzDecoder::new(body).read_to_end(&mut unzipped) {
            Ok(_) => unzipped.as_slice(),
            Err(error) => {
                return (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "text/plain")],
                    format!("gzip: {error}").into_bytes(),
                );
            }
        }
    } else {
        body
    };
    let decoded = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(body).map_err(|error| error.to_string())
    } else {
        ExportTraceServiceRequest::decode(body).map_err(|error| error.to_string())
    };
    match decoded {
        Ok(request) => {
            // Answered in the request's own encoding, partial success too.
            let response = if state.behaviour() == Behaviour::Reject {
                rejecting(&request)
            } else {
                state.record(
                    if json { "http/json" } else { "http/protobuf" },
                    request,
                    header_list(headers),
                );
                ExportTraceServiceResponse::default()
            };
            if json {
                let body = serde_json::to_vec(&response).unwrap_or_default();
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
            } else {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    response.encode_to_vec(),
                )
            }
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            error.into_bytes(),
        ),
    }
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}
