//! The client side for tower HTTP clients (hyper-util's `Client`, or any
//! `Service<http::Request<B>>`): a CLIENT span per request, its context in
//! the request's headers, as the reqwest middleware does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::uri::Authority;
use http::{Request, Response, Uri};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::{SERVER_ADDRESS, SERVER_PORT, URL_FULL};
use pin_project_lite::pin_project;
use spanflow::Span;
use tower_layer::Layer;
use tower_service::Service;

use crate::attributes::{record_failure, record_method_original, record_response_status};
use crate::client_span::{record_protocol_version, send_context, start_client_span};
use crate::redacted::{REDACTED, redacted_query};
use crate::shared_values::shared_value;
use crate::span_options::{HttpSpanOptions, LayerSettings, Side, SpanSettings};

/// A tower [`Layer`] for HTTP clients: every request sent through the
/// wrapped service gets a CLIENT span (named by its method, with
/// `url.full`, `server.address`, `server.port`, the response's status
/// code and, over hyper-util's legacy `Client` (feature `hyper-util`), the
/// peer it connected to; a 4xx, a 5xx or a failed request marks it Error), and the span's context
/// goes in the request's headers through the global propagator, so the
/// server continues the trace. The span ends with the response's head, as
/// [`TracingMiddleware`](crate::TracingMiddleware)'s does for reqwest.
/// Request and response headers are captured, and methods beyond the
/// conventions' ten known, as [`HttpSpanOptions`] or the configuration
/// file say.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use spanflow_http::HttpClientLayer;
/// use tower_layer::Layer;
///
/// let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
/// let traced = HttpClientLayer::new().layer(client);
/// # drop(traced);
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientLayer {
    settings: LayerSettings,
}

impl HttpClientLayer {
    /// The layer, recording what the configuration file's
    /// `instrumentation/development.general.http.client` section asks for
    /// beyond the conventions' attributes (nothing without a file).
    pub const fn new() -> Self {
        HttpClientLayer {
            settings: LayerSettings::from_file(Side::Client),
        }
    }

    /// The layer, recording what `options` ask for (and the file's
    /// settings where they set nothing).
    pub fn with_options(options: HttpSpanOptions) -> Self {
        HttpClientLayer {
            settings: LayerSettings::given(Side::Client, options),
        }
    }
}

impl Default for HttpClientLayer {
    fn default() -> Self {
        HttpClientLayer::new()
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The client [`HttpClientLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct HttpClientService<S> {
    inner: S,
    settings: LayerSettings,
}

impl<S, B, ResponseBody> Service<Request<B>> for HttpClientService<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = HttpClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let settings = self.settings.get();
        let mut span = start_client_span(request.method(), &settings.known_methods);
        if span.is_recording() {
            record_request(&mut span, &request, settings);
        }
        let context = send_context(&span, request.headers_mut());
        let inner = spanflow::with_context(&context, || self.inner.call(request));
        HttpClientFuture {
            inner,
            span: Some(span),
            context,
            settings: self.settings.clone(),
        }
    }
}

pin_project! {
    /// The response future of an [`HttpClientService`]: the request's
    /// context is current on every poll; the span ends with the response's
    /// head, a failure, or the future's drop.
    pub struct HttpClientFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
        context: Context,
        settings: LayerSettings,
    }
}

impl<F, ResponseBody, E> Future for HttpClientFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = spanflow::with_context(this.context, || this.inner.as_mut().poll(cx));
        let output = std::task::ready!(polled);
        if let Some(mut span) = this.span.take() {
            match &output {
                Ok(response) => {
                    let status = response.status();
                    record_response_status(&mut span, status.as_u16(), Side::Client);
                    (this.settings.get().response_headers).record(&mut span, response.headers());
                    if span.is_recording() {
                        record_protocol_version(&mut span, response.version());
                        record_peer(&mut span, response);
                    }
                }
                Err(_) => record_failure(&mut span, std::any::type_name::<E>()),
            }
            span.end();
        }
        Poll::Ready(output)
    }
}

/// `network.peer.address` and `.port`: the address hyper-util's legacy
/// `Client` connected to, which it puts in the response's extensions.
#[cfg(feature = "hyper-util")]
fn record_peer<B>(span: &mut Span, response: &Response<B>) {
    use hyper_util::client::legacy::connect::HttpInfo;
    use opentelemetry_semantic_conventions::attribute::{NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT};
    if let Some(info) = response.extensions().get::<HttpInfo>() {
        let peer = info.remote_addr();
        span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
        span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
}

/// Other tower clients do not say where they connected.
#[cfg(not(feature = "hyper-util"))]
fn record_peer<B>(_span: &mut Span, _response: &Response<B>) {}

/// `url.full`, `server.address`, `server.port` and `peer.service`, from an
/// absolute request URI (a relative one has no host to record), the method
/// as sent if it is not known, and the captured headers (the request's
/// own, before the trace's are added).
fn record_request<B>(span: &mut Span, request: &Request<B>, settings: &SpanSettings) {
    record_method_original(span, request.method().as_str(), &settings.known_methods);
    settings.request_headers.record(span, request.headers());
    let uri = request.uri();
    let Some(authority) = uri.authority() else {
        return;
    };
    let host = authority.host();
    let port = authority.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    });
    span.set_attribute(KeyValue::new(URL_FULL, shown_url(uri, authority)));
    span.set_attribute(KeyValue::new(SERVER_ADDRESS, shared_value(host)));
    settings.peer_services.record(span, host, port);
    if let Some(port) = port {
        span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(port)));
    }
}

/// `uri` as `url.full` shows it: credentials and signatures never leave in
/// telemetry (see [`redacted_query`]). Written into one string.
fn shown_url(uri: &Uri, authority: &Authority) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let path = match uri.path() {
        "" => "/",
        path => path,
    };
    let mut shown = String::with_capacity(
        scheme.len() + authority.as_str().len() + path.len() + uri.query().map_or(0, str::len) + 24,
    );
    shown.push_str(scheme);
    shown.push_str("://");
    if authority.as_str().contains('@') {
        shown.push_str(REDACTED);
        shown.push(':');
        shown.push_str(REDACTED);
        shown.push('@');
    }
    shown.push_str(authority.host());
    if let Some(port) = authority.port() {
        shown.push(':');
        shown.push_str(port.as_str());
    }
    shown.push_str(path);
    if let Some(query) = uri.query() {
        shown.push('?');
        shown.push_str(&redacted_query(query));
    }
    shown
}
