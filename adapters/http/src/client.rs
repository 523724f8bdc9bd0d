//! The client side: a CLIENT span per request, its context sent along.

use std::borrow::Cow;
use std::future::Future;

use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{
    NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT, SERVER_ADDRESS, SERVER_PORT, URL_FULL,
};
use spanflow::Span;

use crate::attributes::{record_failure, record_method_original, record_response_status};
use crate::client_span::{record_protocol_version, send_context, start_client_span};
use crate::redacted::{REDACTED, redacted_query};
use crate::shared_values::shared_value;
use crate::span_options::{HttpSpanOptions, LayerSettings, Side, SpanSettings, file_settings};

/// A `reqwest_middleware::Middleware` that traces every request: a CLIENT
/// span named by the method, with `url.full` (redacted), `server.address`,
/// `server.port`, the peer and the response's status code (a 4xx, a 5xx or a
/// failed request marks it Error), and its context in the request's
/// headers. Request and response headers are captured, and methods beyond
/// the conventions' ten known, as [`HttpSpanOptions`] or the
/// configuration file say.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(spanflow_http::TracingMiddleware::new())
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct TracingMiddleware {
    settings: LayerSettings,
}

impl TracingMiddleware {
    /// The middleware, recording what the configuration file's
    /// `instrumentation/development.general.http.client` section asks for
    /// beyond the conventions' attributes (nothing without a file).
    pub const fn new() -> Self {
        TracingMiddleware {
            settings: LayerSettings::from_file(Side::Client),
        }
    }

    /// The middleware, recording what `options` ask for (and the file's
    /// settings where they set nothing).
    pub fn with_options(options: HttpSpanOptions) -> Self {
        TracingMiddleware {
            settings: LayerSettings::given(Side::Client, options),
        }
    }
}

impl Default for TracingMiddleware {
    fn default() -> Self {
        TracingMiddleware::new()
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for TracingMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        traced_send(
            request,
            self.settings.get(),
            |request| next.run(request, extensions),
            classify_middleware_error,
        )
        .await
    }
}

/// Tracing for users of plain `reqwest`, without middleware.
pub trait RequestBuilderExt {
    /// Sends the request inside a CLIENT span, with its context in the
    /// headers (see [`TracingMiddleware`] for what is recorded; what goes
    /// beyond the conventions comes from the configuration file).
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        async move {
            traced_send(
                request?,
                file_settings(Side::Client),
                |request| client.execute(request),
                reqwest_error_type,
            )
            .await
        }
    }
}

fn classify_middleware_error(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Reqwest(error) => reqwest_error_type(error),
        reqwest_middleware::Error::Middleware(_) => "middleware",
    }
}

/// `error.type` for a request reqwest failed: what went wrong, in the few
/// words the conventions' examples use (`timeout`), rather than the one
/// type every reqwest error has.
fn reqwest_error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_request() {
        "request"
    } else {
        "reqwest::Error"
    }
}

/// Starts the CLIENT span, injects its context, sends, and ends the span
/// with the outcome, also when the request fails (the span always ends:
/// dropping the future drops the span, which ends it).
async fn traced_send<E, F, Fut>(
    mut request: reqwest::Request,
    settings: &SpanSettings,
    send: F,
    classify: fn(&E) -> &'static str,
) -> Result<reqwest::Response, E>
where
    F: FnOnce(reqwest::Request) -> Fut,
    Fut: Future<Output = Result<reqwest::Response, E>>,
{
    let mut span = start_client_span(request.method(), &settings.known_methods);
    if span.is_recording() {
        record_request(&mut span, &request, settings);
    }
    let context = send_context(&span, request.headers_mut());
    let outcome = spanflow::in_context(context, send(request)).await;
    match &outcome {
        Ok(response) => {
            let status = response.status();
            record_response_status(&mut span, status.as_u16(), Side::Client);
            settings
                .response_headers
                .record(&mut span, response.headers());
            if span.is_recording() {
                record_protocol_version(&mut span, response.version());
            }
            if let Some(peer) = response.remote_addr()
                && span.is_recording()
            {
                span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
                span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
            }
        }
        Err(error) => record_failure(&mut span, classify(error)),
    }
    span.end();
    outcome
}

/// What a request says of itself, before the trace's headers are added.
fn record_request(span: &mut Span, request: &reqwest::Request, settings: &SpanSettings) {
    record_method_original(span, request.method().as_str(), &settings.known_methods);
    settings.request_headers.record(span, request.headers());
    let url = request.url();
    // Credentials and signatures never leave in telemetry; a URL without
    // any (the usual case) is copied once, not cloned, redacted and written
    // out again.
    let credentials = !url.username().is_empty() || url.password().is_some();
    let query = url.query().map(redacted_query);
    let shown = match query {
        None | Some(Cow::Borrowed(_)) if !credentials => url.as_str().to_owned(),
        _ => {
            let mut shown = url.clone();
            if credentials {
                let _ = shown.set_username(REDACTED);
                let _ = shown.set_password(Some(REDACTED));
            }
            if let Some(Cow::Owned(query)) = &query {
                shown.set_query(Some(query));
            }
            shown.into()
        }
    };
    span.set_attribute(KeyValue::new(URL_FULL, shown));
    let port = url.port_or_known_default();
    if let Some(host) = url.host_str() {
        span.set_attribute(KeyValue::new(SERVER_ADDRESS, shared_value(host)));
        settings.peer_services.record(span, host, port);
    }
    if let Some(port) = port {
        span.set_attribute(KeyValue::new(SERVER_PORT, i64::from(port)));
    }
}
