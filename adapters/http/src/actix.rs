//! The actix-web middleware.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Version;
use actix_web::http::header::HeaderMap;
use opentelemetry::KeyValue;
use opentelemetry::propagation::Extractor;
use opentelemetry_semantic_conventions::attribute::{
    CLIENT_ADDRESS, NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT, NETWORK_PROTOCOL_VERSION,
    SERVER_ADDRESS, SERVER_PORT, URL_PATH, URL_QUERY, URL_SCHEME, USER_AGENT_ORIGINAL,
};
use spanflow::Span;
use spanflow::propagation::SingleLineExtractor;

use crate::actix_body::ActixTracedBody;
use crate::attributes::{
    host_and_port, record_method_original, record_response_status, scheme_value,
};
use crate::body_span::poll_in_span;
use crate::redacted::redacted_query;
use crate::server_span::start_server_span;
use crate::shared_values::shared_value;
use crate::span_options::{HttpSpanOptions, LayerSettings, Side, SpanSettings};

/// An actix-web middleware giving every request a SERVER span that continues
/// the caller's trace, as [`TraceLayer`](crate::TraceLayer) does for tower:
/// named `{method} {route}` (the resource pattern), HTTP semantic-convention
/// attributes, current on every poll of the handler and of the response
/// body, status Error on 5xx. The span lasts until the body has been sent
/// ([`ActixTracedBody`]), so a streamed response is timed whole. Request
/// and response headers are captured, and methods beyond the conventions'
/// ten known, as [`HttpSpanOptions`] or the configuration file say.
///
/// ```
/// use actix_web::{App, web};
///
/// let app = App::new()
///     .wrap(spanflow_http::ActixTrace::new())
///     .route("/users/{id}", web::get().to(|| async { "ok" }));
/// ```
#[derive(Clone, Debug)]
pub struct ActixTrace {
    settings: LayerSettings,
}

impl ActixTrace {
    /// The middleware, recording what the configuration file's
    /// `instrumentation/development.general.http.server` section asks for
    /// beyond the conventions' attributes (nothing without a file).
    pub const fn new() -> Self {
        ActixTrace {
            settings: LayerSettings::from_file(Side::Server),
        }
    }

    /// The middleware, recording what `options` ask for (and the file's
    /// settings where they set nothing).
    pub fn with_options(options: HttpSpanOptions) -> Self {
        ActixTrace {
            settings: LayerSettings::given(Side::Server, options),
        }
    }
}

impl Default for ActixTrace {
    fn default() -> Self {
        ActixTrace::new()
    }
}

impl<S, B> Transform<S, ServiceRequest> for ActixTrace
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<ActixTracedBody<B>>;
    type Error = actix_web::Error;
    type Transform = ActixTraceService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ActixTraceService {
            service,
            settings: self.settings.clone(),
        }))
    }
}

/// The service [`ActixTrace`] wraps around yours.
#[derive(Debug)]
pub struct ActixTraceService<S> {
    service: S,
    settings: LayerSettings,
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for ActixTraceService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<ActixTracedBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let settings = self.settings.get();
        let method = settings.known_methods.name(request.method().as_str());
        let mut span = start_server_span(
            &ActixHeaders(request.headers()),
            method,
            request.match_pattern().as_deref(),
            |span| record_request(span, &request, settings),
        );
        let handled = span.in_scope(|| self.service.call(request));
        let layer_settings = self.settings.clone();
        Box::pin(async move {
            let mut handled = std::pin::pin!(handled);
            // The span entered on every poll: what the handler adds to the
            // current span lands on it.
            let outcome = std::future::poll_fn(|cx| {
                poll_in_span(Some(&mut span), || handled.as_mut().poll(cx))
            })
            .await;
            let status = match &outcome {
                Ok(response) => response.status(),
                Err(error) => error.as_response_error().status_code(),
            };
            record_response_status(&mut span, status.as_u16(), Side::Server);
            match outcome {
                Ok(response) => {
                    let captured = &layer_settings.get().response_headers;
                    captured.record(&mut span, response.headers());
                    Ok(response.map_body(|_, body| ActixTracedBody::new(body, span)))
                }
                Err(error) => {
                    span.end();
                    Err(error)
                }
            }
        })
    }
}

/// The attributes beyond method and route (set at the start).
fn record_request(span: &mut Span, request: &ServiceRequest, settings: &SpanSettings) {
    record_method_original(span, request.method().as_str(), &settings.known_methods);
    settings.request_headers.record(span, request.headers());
    span.set_attribute(KeyValue::new(URL_PATH, request.path().to_owned()));
    match request.query_string() {
        "" => {}
        query => span.set_attribute(KeyValue::new(URL_QUERY, redacted_query(query).into_owned())),
    }
    // actix-web's view of the connection, which reads `Forwarded` and
    // `X-Forwarded-*` as the conventions ask for the client's scheme and
    // host; made once per request and kept for the app's handlers.
    let connection = request.connection_info();
    span.set_attribute(KeyValue::new(URL_SCHEME, scheme_value(connection.scheme())));
    if let Some((host, port)) = host_and_port(connection.host()) {
        span.set_attribute(KeyValue::new(SERVER_ADDRESS, shared_value(host)));
        if let Some(port) = port {
            span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    // `Forwarded`'s or `X-Forwarded-For`'s client first, else the peer.
    if let Some(client) = connection.realip_remote_addr() {
        span.set_attribute(KeyValue::new(CLIENT_ADDRESS, client.to_owned()));
    }
    if let Some(peer) = request.peer_addr() {
        span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
        span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
    span.set_attribute(KeyValue::new(
        NETWORK_PROTOCOL_VERSION,
        protocol_version(request.version()),
    ));
    if let Some(agent) = request
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
    {
        span.set_attribute(KeyValue::new(USER_AGENT_ORIGINAL, shared_value(agent)));
    }
}

/// `network.protocol.version`, from actix-web's `http` 0.2 version (the
/// tower layer's is `http` 1's type).
fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// actix-web keeps headers in its own multi-value map, which no
/// OpenTelemetry carrier crate covers (opentelemetry-http's are for
/// `http::HeaderMap`); `get_all` returns every line, so repeated
/// `traceparent` headers are detected and `tracestate` lines merged.
struct ActixHeaders<'a>(&'a HeaderMap);

impl Extractor for ActixHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

impl SingleLineExtractor for ActixHeaders<'_> {
    fn single_line(&self, key: &str) -> Option<&str> {
        let mut values = self.0.get_all(key);
        let first = values.next()?;
        values
            .next()
            .is_none()
            .then(|| first.to_str().ok())
            .flatten()
    }
}
