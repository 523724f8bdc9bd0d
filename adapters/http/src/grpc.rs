//! gRPC (tonic) client and server layers, with the RPC semantic conventions.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use crate::attributes::host_and_port;
use crate::body_span::poll_in_span;
use crate::captured_headers::{CapturedHeaders, Message};
use crate::carrier::{Headers, HeadersMut};
use crate::peer_service::record_peer_service;
use crate::shared_values::shared_value;
use crate::span_names::span_name;
use crate::span_options::{Side as SpanSide, file_settings};
use http::{HeaderMap, HeaderName, Request, Response};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::Status;
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, RPC_METHOD, RPC_METHOD_ORIGINAL, RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME,
    SERVER_ADDRESS, SERVER_PORT,
};
use pin_project_lite::pin_project;
use spanflow::Span;
use spanflow::propagation::Extracted;
use tower_layer::Layer;
use tower_service::Service;

/// A tower layer for tonic servers: a SERVER span per call, continuing the
/// caller's trace (`Server::builder().layer(GrpcServerLayer::new())`).
///
/// Metadata is recorded when asked for:
/// [`capture_request_metadata`](Self::capture_request_metadata) and
/// [`capture_response_metadata`](Self::capture_response_metadata).
#[derive(Clone, Debug, Default)]
pub struct GrpcServerLayer {
    metadata: Option<Arc<CapturedMetadata>>,
}

/// A tower layer for tonic clients: a CLIENT span per call, its context in
/// the request metadata (`Client::new(GrpcClientLayer::new().layer(channel))`).
///
/// tonic adds the server's address inside the `Channel`, below this layer,
/// so give it with [`with_server`](Self::with_server) (or give the client
/// an origin, `with_origin`, which puts it in each request) to have
/// `server.address` and `server.port` recorded, and `peer.service` when the
/// configuration file maps that host
/// ([`spanflow::config::peer_service_mapping`]) or
/// [`with_peer_service`](Self::with_peer_service) names the service.
/// Metadata is recorded when asked for, as on the server.
#[derive(Clone, Debug, Default)]
pub struct GrpcClientLayer {
    server: Option<(StringValue, Option<u16>)>,
    /// Given in code ([`with_peer_service`](Self::with_peer_service)).
    peer_service: Option<StringValue>,
    /// The file's mapping for the server ([`with_server`](Self::with_server)).
    mapped_peer_service: Option<StringValue>,
    metadata: Option<Arc<CapturedMetadata>>,
}

/// The metadata keys a layer's spans record, as the RPC conventions ask:
/// only those an application names, since metadata carries tokens.
#[derive(Clone, Debug, Default)]
struct CapturedMetadata {
    request: CapturedHeaders,
    response: CapturedHeaders,
}

/// The metadata a layer captures, to change (its own copy, if its clones
/// share it).
fn captured_mut(metadata: &mut Option<Arc<CapturedMetadata>>) -> &mut CapturedMetadata {
    Arc::make_mut(metadata.get_or_insert_with(Default::default))
}

impl GrpcServerLayer {
    /// The layer.
    pub const fn new() -> Self {
        GrpcServerLayer { metadata: None }
    }

    /// Records these keys of each call's request metadata as
    /// `rpc.request.metadata.<key>`: a list of strings, one item per value
    /// (a `-bin` key's values as sent, in base64). Metadata carries tokens:
    /// name only keys anyone who reads the traces may see.
    pub fn capture_request_metadata(mut self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
        captured_mut(&mut self.metadata).request = CapturedHeaders::new(Message::RpcRequest, keys);
        self
    }

    /// Records these keys of each call's response metadata, from its
    /// headers and its trailers, as `rpc.response.metadata.<key>` (as for
    /// [`capture_request_metadata`](Self::capture_request_metadata)).
    pub fn capture_response_metadata(mut self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
        captured_mut(&mut self.metadata).response =
            CapturedHeaders::new(Message::RpcResponse, keys);
        self
    }
}

impl GrpcClientLayer {
    /// The layer.
    pub const fn new() -> Self {
        GrpcClientLayer {
            server: None,
            peer_service: None,
            mapped_peer_service: None,
            metadata: None,
        }
    }

    /// Records these keys of each call's request metadata, as the server
    /// layer's [`capture_request_metadata`](GrpcServerLayer::capture_request_metadata)
    /// does (the call's own metadata, before the trace's is added).
    pub fn capture_request_metadata(mut self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
        captured_mut(&mut self.metadata).request = CapturedHeaders::new(Message::RpcRequest, keys);
        self
    }

    /// Records these keys of each call's response metadata, as the server
    /// layer's [`capture_response_metadata`](GrpcServerLayer::capture_response_metadata)
    /// does.
    pub fn capture_response_metadata(mut self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
        captured_mut(&mut self.metadata).response =
            CapturedHeaders::new(Message::RpcResponse, keys);
        self
    }

    /// The endpoint the channel connects to, for `server.address`,
    /// `server.port`, and `peer.service` when the configuration file maps
    /// its host (and port, or its scheme's).
    pub fn with_server(mut self, endpoint: &http::Uri) -> Self {
        // Shared: each call's span takes a reference, not a copy.
        self.server = endpoint
            .host()
            .map(|host| (Arc::<str>::from(host).into(), endpoint.port_u16()));
        self.mapped_peer_service = endpoint.host().and_then(|host| {
            let port = endpoint.port_u16().or_else(|| default_port(endpoint));
            file_settings(SpanSide::Client)
                .peer_services
                .find(host, port)
                .cloned()
        });
        self
    }

    /// Names the service the channel calls, for `peer.service` (in place of
    /// the configuration file's mapping for the server's host).
    pub fn with_peer_service(mut self, service: impl Into<String>) -> Self {
        self.peer_service = Some(Arc::<str>::from(service.into()).into());
        self
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            side: Side::Server,
            server: None,
            peer_service: None,
            metadata: self.metadata.clone(),
        }
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            side: Side::Client,
            server: self.server.clone(),
            peer_service: self
                .peer_service
                .as_ref()
                .or(self.mapped_peer_service.as_ref())
                .cloned(),
            metadata: self.metadata.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// The service the gRPC layers wrap around yours.
///
/// The span is named `{service}/{method}` and carries `rpc.system.name`,
/// `rpc.method` and `rpc.response.status_code` (the status's name, read
/// from the `grpc-status` header or trailer); it ends when the response body
/// does, since the status usually arrives last. A method the server does not
/// know (it answers UNIMPLEMENTED, as tonic does for a path no service
/// routes), or a path that is no method, is recorded as the conventions
/// ask: `rpc.method` `_OTHER`, the path in `rpc.method_original`, the span
/// named `grpc`. Status Error for any
/// non-`OK` code on the client, and on the server for the codes the
/// conventions call server errors (UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS).
#[derive(Clone, Debug)]
pub struct GrpcService<S> {
    inner: S,
    side: Side,
    server: Option<(StringValue, Option<u16>)>,
    peer_service: Option<StringValue>,
    metadata: Option<Arc<CapturedMetadata>>,
}

impl<S, B, ResponseBody> Service<Request<B>> for GrpcService<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
    ResponseBody: Body,
{
    type Response = Response<GrpcBody<ResponseBody>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // Named when it starts (`package.Service/Method`), so that sampling
        // rules can match the call that starts a trace. A server keeps the
        // method, in case it turns out not to know it.
        let mut method = None;
        let keeps_method = self.side == Side::Server;
        let identify = || {
            let (name, attributes) = identity(&request);
            if keeps_method && attributes[1].value.as_str() != OTHER_METHOD {
                method = Some(attributes[1].value.clone());
            }
            (name, attributes)
        };
        let mut span = match self.side {
            Side::Server => {
                // The current context as the base, cloned (see server_span).
                let parent =
                    Extracted::from_single_line(&Context::current(), &Headers(request.headers()));
                Span::with_parent_lazily_named(
                    spanflow::library_callsite!("gRPC call", kind = server),
                    parent,
                    identify,
                )
            }
            Side::Client => Span::lazily_named(
                spanflow::library_callsite!("gRPC call", kind = client),
                identify,
            ),
        };
        if span.is_recording() {
            match self.side {
                Side::Client => {
                    let called = match &self.server {
                        Some(server) => {
                            record_server(&mut span, server);
                            None
                        }
                        // Without `with_server`, the authority the request
                        // names when its client was given an origin
                        // (`with_origin`).
                        None => record_authority(&mut span, &request),
                    };
                    match (&self.peer_service, called) {
                        (Some(service), _) => record_peer_service(&mut span, service),
                        (None, Some((host, port))) => {
                            let port = port.or_else(|| default_port(request.uri()));
                            file_settings(SpanSide::Client)
                                .peer_services
                                .record(&mut span, host, port);
                        }
                        (None, None) => {}
                    }
                }
                Side::Server => {
                    let _ = record_authority(&mut span, &request);
                    record_peer(&mut span, &request);
                }
            }
            if full_method(request.uri().path()).is_none() {
                let original = request.uri().path().trim_start_matches('/');
                span.set_attribute(KeyValue::new(RPC_METHOD_ORIGINAL, original.to_owned()));
            }
            if let Some(metadata) = &self.metadata {
                metadata.request.record(&mut span, request.headers());
            }
        }
        // Only a recorded span with keys to capture keeps the list.
        let metadata = self
            .metadata
            .as_ref()
            .filter(|metadata| !metadata.response.is_empty() && span.is_recording())
            .cloned();
        match self.side {
            Side::Client => {
                // The channel's work runs in the context sent downstream.
                let context = span.outgoing_context();
                opentelemetry::global::get_text_map_propagator(|propagator| {
                    propagator.inject_context(&context, &mut HeadersMut(request.headers_mut()))
                });
                let inner = spanflow::with_context(&context, || self.inner.call(request));
                GrpcFuture {
                    inner,
                    span: Some(span),
                    side: self.side,
                    client_context: Some(context),
                    metadata,
                    method: None,
                }
            }
            Side::Server => {
                // The handler runs in the span entered: what it adds to the
                // current span lands on the call's.
                let inner = span.in_scope(|| self.inner.call(request));
                GrpcFuture {
                    inner,
                    span: Some(span),
                    side: self.side,
                    client_context: None,
                    metadata,
                    method,
                }
            }
        }
    }
}

/// `/package.Service/Method` as `package.Service/Method`.
fn full_method(path: &str) -> Option<&str> {
    let full = path.strip_prefix('/')?;
    let (service, method) = full.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(full)
}

/// The call's span name, `package.Service/Method`, with `rpc.system.name`
/// and `rpc.method`; for a path that is not a method, `_OTHER` named
/// after the system, as the conventions ask.
fn identity<B>(request: &Request<B>) -> (Cow<'static, str>, [KeyValue; 2]) {
    let (name, full) = match full_method(request.uri().path()) {
        Some(full) => span_name(None, full),
        None => (SYSTEM.into(), OTHER_METHOD.into()),
    };
    let attributes = [
        KeyValue::new(RPC_SYSTEM_NAME, SYSTEM),
        KeyValue::new(RPC_METHOD, full),
    ];
    (name, attributes)
}

/// `server.address` and `server.port` the client layer was given.
fn record_server(span: &mut Span, (host, port): &(StringValue, Option<u16>)) {
    span.set_attribute(KeyValue::new(SERVER_ADDRESS, host.clone()));
    if let Some(port) = port {
        span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(*port)));
    }
}

/// `server.address` and `server.port` from the authority in the request's
/// URI: on a server the `:authority` the client called (HTTP/2 puts it
/// there), on a client the origin it was given; the host and port read.
fn record_authority<'a, B>(
    span: &mut Span,
    request: &'a Request<B>,
) -> Option<(&'a str, Option<u16>)> {
    let (host, port) = request
        .uri()
        .authority()
        .and_then(|authority| host_and_port(authority.as_str()))?;
    span.set_attribute(KeyValue::new(SERVER_ADDRESS, shared_value(host)));
    if let Some(port) = port {
        span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(port)));
    }
    Some((host, port))
}

/// The port a URI's scheme implies, for one that names none.
fn default_port(uri: &http::Uri) -> Option<u16> {
    match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    }
}

/// The response metadata a call's span has gathered so far, recorded when
/// the span ends.
struct PendingMetadata {
    captured: Arc<CapturedMetadata>,
    gathered: Vec<Vec<StringValue>>,
}

/// Ends the span, with the response metadata gathered.
fn end_call(span: &mut Span, pending: &mut Option<PendingMetadata>) {
    if let Some(pending) = pending.take() {
        (pending.captured.response).record_gathered(span, pending.gathered);
    }
    span.end();
}

/// A server's `network.peer.address` and `.port`: the connection tonic's
/// server puts in each request's extensions (over TCP without TLS; TLS
/// wraps it in a type of tonic's TLS features).
#[cfg(feature = "tonic")]
fn record_peer<B>(span: &mut Span, request: &Request<B>) {
    use opentelemetry_semantic_conventions::attribute::{NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT};
    let peer = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(tonic::transport::server::TcpConnectInfo::remote_addr);
    if let Some(peer) = peer {
        span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
        span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
}

/// Other gRPC servers do not say who connected.
#[cfg(not(feature = "tonic"))]
fn record_peer<B>(_span: &mut Span, _request: &Request<B>) {}

/// Records a `grpc-status` (header or trailer) and ends the span; `false`
/// when the map holds none. `method` is a server's `rpc.method`.
fn record_status(
    span: &mut Span,
    side: Side,
    headers: &HeaderMap,
    pending: &mut Option<PendingMetadata>,
    method: Option<&Value>,
) -> bool {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u16>().ok())
    else {
        return false;
    };
    let name = code_name(code);
    span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, name));
    if let (Side::Server, UNIMPLEMENTED, Some(method)) = (side, code, method) {
        mark_unrecognized(span, method);
    }
    let failed = match side {
        Side::Client => code != 0,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    };
    if failed {
        span.set_attribute(KeyValue::new(ERROR_TYPE, name));
        let message = headers
            .get("grpc-message")
            .and_then(|value| value.to_str().ok())
            .map_or_else(|| name.to_owned(), percent_decode);
        span.set_status(Status::error(message));
    }
    end_call(span, pending);
    true
}

/// A call whose method the server does not know: UNIMPLEMENTED is what
/// tonic answers for a path no service routes, and what a server answers
/// for a method it has not implemented. The conventions ask for `_OTHER`
/// then, the span named after the system, and the method as called in
/// `rpc.method_original`: callers choose the path, so the names they make
/// up must not become span names.
fn mark_unrecognized(span: &mut Span, method: &Value) {
    span.update_name(SYSTEM);
    span.replace_attribute(KeyValue::new(RPC_METHOD, OTHER_METHOD));
    span.set_attribute(KeyValue::new(RPC_METHOD_ORIGINAL, method.clone()));
}

/// `rpc.system.name`, and the name of a span whose method is `_OTHER`.
const SYSTEM: &str = "grpc";
/// `rpc.method` for a method not recognized.
const OTHER_METHOD: &str = "_OTHER";
/// The gRPC status code a server answers for a method it does not know.
const UNIMPLEMENTED: u16 = 12;

/// `grpc-message` is percent-encoded UTF-8 (the gRPC HTTP/2 protocol); a
/// malformed escape is kept as written, and bytes that are not UTF-8 become
/// U+FFFD.
fn percent_decode(message: &str) -> String {
    let bytes = message.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The gRPC status codes by name.
fn code_name(code: u16) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("_OTHER")
}

pin_project! {
    /// The response future of a [`GrpcService`].
    pub struct GrpcFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
        side: Side,
        // A client call's polls run in the context it sent; a server's in
        // its span, entered.
        client_context: Option<Context>,
        metadata: Option<Arc<CapturedMetadata>>,
        // A recorded server call's `rpc.method` (see `mark_unrecognized`).
        method: Option<Value>,
    }
}

impl<F, ResponseBody, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
{
    type Output = Result<Response<GrpcBody<ResponseBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.client_context {
            Some(context) => spanflow::with_context(context, || this.inner.as_mut().poll(cx)),
            None => poll_in_span(this.span.as_mut(), || this.inner.as_mut().poll(cx)),
        };
        let output = std::task::ready!(polled);
        let mut span = this.span.take();
        Poll::Ready(match output {
            Ok(response) => {
                let mut metadata = this.metadata.take().map(|captured| {
                    let mut gathered = Vec::new();
                    (captured.response).gather(response.headers(), &mut gathered);
                    PendingMetadata { captured, gathered }
                });
                // A trailers-only response carries the status in its headers.
                let method = this.method.take();
                if let Some(open) = span.as_mut()
                    && record_status(
                        open,
                        *this.side,
                        response.headers(),
                        &mut metadata,
                        method.as_ref(),
                    )
                {
                    span = None;
                }
                let side = *this.side;
                Ok(response.map(|body| GrpcBody {
                    inner: body,
                    span,
                    side,
                    metadata,
                    method,
                }))
            }
            Err(error) => {
                if let Some(mut span) = span {
                    let error_type = std::any::type_name::<E>();
                    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
                    span.set_status(Status::error(error_type));
                    span.end();
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// A response body that ends the call's span at its trailers (where
    /// gRPC puts the status), at its end, or when dropped. The span is
    /// current while the body is polled: a server stream's messages are
    /// made then, and their work belongs to the call.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
        side: Side,
        metadata: Option<PendingMetadata>,
        method: Option<Value>,
    }

    // A body dropped unfinished (the peer went away) still records the
    // response metadata its span gathered; dropping the span ends it.
    impl<B> PinnedDrop for GrpcBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(span), Some(pending)) = (this.span.as_mut(), this.metadata.take()) {
                (pending.captured.response).record_gathered(span, pending.gathered);
            }
        }
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(poll_in_span(this.span.as_mut(), || {
            this.inner.as_mut().poll_frame(cx)
        }));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(trailers), Some(span)) = (frame.trailers_ref(), this.span.as_mut()) {
                    if let Some(pending) = this.metadata.as_mut() {
                        (pending.captured.response).gather(trailers, &mut pending.gathered);
                    }
                    if record_status(
                        span,
                        *this.side,
                        trailers,
                        this.metadata,
                        this.method.as_ref(),
                    ) {
                        *this.span = None;
                    }
                }
            }
            Some(Err(_)) => {
                if let Some(mut span) = this.span.take() {
                    span.set_attribute(KeyValue::new(ERROR_TYPE, "body"));
                    span.set_status(Status::error("the response body failed"));
                    end_call(&mut span, this.metadata);
                }
            }
            None => {
                if let Some(mut span) = this.span.take() {
                    end_call(&mut span, this.metadata);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
