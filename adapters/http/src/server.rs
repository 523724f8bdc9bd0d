//! The server side: a tower layer that continues the caller's trace.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::carrier::Headers;
use http::{Request, Response};
use opentelemetry::{KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    CLIENT_ADDRESS, NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT, NETWORK_PROTOCOL_VERSION,
    SERVER_ADDRESS, SERVER_PORT, URL_PATH, URL_QUERY, URL_SCHEME, USER_AGENT_ORIGINAL,
};
use pin_project_lite::pin_project;
use spanflow::Span;
use tower_layer::Layer;
use tower_service::Service;

use crate::attributes::{
    host_and_port, protocol_version, record_failure, record_method_original,
    record_response_status, scheme_value,
};
use crate::body_span::poll_in_span;
use crate::forwarded::Forwarded;
use crate::redacted::redacted_query;
use crate::response_body::TracedBody;
use crate::server_span::start_server_span;
use crate::shared_values::shared_value;
use crate::span_options::{HttpSpanOptions, LayerSettings, Side, SpanSettings};

/// A tower [`Layer`] that gives every request a SERVER span.
///
/// The span's parent is the context the caller sent (through the global
/// propagator: W3C Trace Context and Baggage once a spanflow pipeline is
/// installed); a missing or invalid `traceparent` starts a new trace and the
/// request proceeds normally. The span is named `{method} {route}` when the
/// route is known (axum's `MatchedPath`, with the `axum` feature), `{method}`
/// otherwise, carries the HTTP semantic-convention attributes (`url.scheme`,
/// `server.address` and `client.address` from a proxy's `Forwarded` or
/// `X-Forwarded-*` headers first, as the conventions ask; the peer as
/// `network.peer.address` when axum serves with `ConnectInfo<SocketAddr>`),
/// and is current on every poll of the response future and of the response
/// body. It ends when the body has been sent (see [`TracedBody`]), so a
/// streamed response is timed whole. Status Error on 5xx responses, on service errors and on
/// body errors. Request and response headers are captured, and methods
/// beyond the conventions' ten known, as [`HttpSpanOptions`] or the
/// configuration file say.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "ok" }))
///     .layer(spanflow_http::TraceLayer::new());
/// ```
#[derive(Clone, Debug)]
pub struct TraceLayer {
    settings: LayerSettings,
}

impl TraceLayer {
    /// The layer, recording what the configuration file's
    /// `instrumentation/development.general.http.server` section asks for
    /// beyond the conventions' attributes (nothing without a file).
    pub const fn new() -> Self {
        TraceLayer {
            settings: LayerSettings::from_file(Side::Server),
        }
    }

    /// The layer, recording what `options` ask for (and the file's
    /// settings where they set nothing).
    pub fn with_options(options: HttpSpanOptions) -> Self {
        TraceLayer {
            settings: LayerSettings::given(Side::Server, options),
        }
    }
}

impl Default for TraceLayer {
    fn default() -> Self {
        TraceLayer::new()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The service [`TraceLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    settings: LayerSettings,
}

impl<S, B, ResponseBody> Service<Request<B>> for TraceService<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
    ResponseBody: http_body::Body,
{
    type Response = Response<TracedBody<ResponseBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = self.settings.get();
        let method = settings.known_methods.name(request.method().as_str());
        let mut span = start_server_span(
            &Headers(request.headers()),
            method,
            matched_route(&request),
            |span| record_request(span, &request, settings),
        );
        // The service's own `call` runs in the span too: work done there,
        // before the future, belongs to the request.
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture {
            inner,
            span: Some(span),
            settings: self.settings.clone(),
        }
    }
}

/// The attributes beyond method and route (set at the start).
fn record_request<B>(span: &mut Span, request: &Request<B>, settings: &SpanSettings) {
    record_method_original(span, request.method().as_str(), &settings.known_methods);
    span.set_attribute(KeyValue::new(URL_PATH, request.uri().path().to_owned()));
    if let Some(query) = request.uri().query() {
        span.set_attribute(KeyValue::new(URL_QUERY, redacted_query(query).into_owned()));
    }
    span.set_attribute(KeyValue::new(
        NETWORK_PROTOCOL_VERSION,
        protocol_version(request.version()),
    ));
    record_origin(span, request);
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
    {
        span.set_attribute(KeyValue::new(USER_AGENT_ORIGINAL, shared_value(agent)));
    }
    settings.request_headers.record(span, request.headers());
}

/// Where the request came from and what it was sent to: `url.scheme`,
/// `server.address` and `server.port`, `client.address`, and the
/// connection's peer. What a proxy says of the original request comes
/// first, as the conventions ask.
fn record_origin<B>(span: &mut Span, request: &Request<B>) {
    let forwarded = Forwarded::of(request.headers());
    // A server sees origin-form targets, without a scheme: "http" then.
    let scheme = forwarded.proto.or(request.uri().scheme_str());
    span.set_attribute(KeyValue::new(
        URL_SCHEME,
        scheme.map_or(Value::from("http"), scheme_value),
    ));
    // HTTP/2 sends the host as `:authority`, which http puts in the URI.
    let host = forwarded
        .host
        .or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|value| value.to_str().ok())
        })
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
        .and_then(host_and_port);
    if let Some((host, port)) = host {
        span.set_attribute(KeyValue::new(SERVER_ADDRESS, shared_value(host)));
        if let Some(port) = port {
            span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    let peer = peer_address(request);
    if let Some(client) = forwarded.client {
        span.set_attribute(KeyValue::new(CLIENT_ADDRESS, client.to_owned()));
    } else if let Some(peer) = peer {
        span.set_attribute(KeyValue::new(CLIENT_ADDRESS, peer.ip().to_string()));
    }
    if let Some(peer) = peer {
        span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
        span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
}

/// The connection's peer, when the app serves with axum's `ConnectInfo`
/// (`into_make_service_with_connect_info::<SocketAddr>()`): hyper alone
/// does not tell a service its peer.
#[cfg(feature = "axum")]
fn peer_address<B>(request: &Request<B>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0)
}

#[cfg(not(feature = "axum"))]
fn peer_address<B>(_request: &Request<B>) -> Option<std::net::SocketAddr> {
    None
}

#[cfg(feature = "axum")]
fn matched_route<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn matched_route<B>(_request: &Request<B>) -> Option<&str> {
    None
}

pin_project! {
    /// The response future: the span is current on every poll (entered:
    /// what the handler adds to the current span lands on it), and goes on
    /// in the response's body (it ends with the future if the future is
    /// dropped first, or fails).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
        settings: LayerSettings,
    }
}

impl<F, ResponseBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
    ResponseBody: http_body::Body,
{
    type Output = Result<Response<TracedBody<ResponseBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let output = std::task::ready!(poll_in_span(this.span.as_mut(), || this
            .inner
            .as_mut()
            .poll(cx)));
        let mut span = this.span.take().unwrap_or_else(Span::none);
        Poll::Ready(match output {
            Ok(response) => {
                let status = response.status();
                record_response_status(&mut span, status.as_u16(), Side::Server);
                (this.settings.get().response_headers).record(&mut span, response.headers());
                Ok(response.map(|body| TracedBody::new(body, span)))
            }
            Err(error) => {
                record_failure(&mut span, std::any::type_name::<E>());
                span.end();
                Err(error)
            }
        })
    }
}
