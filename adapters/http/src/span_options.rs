//! What a layer's spans record beyond the conventions' defaults: given in
//! code ([`HttpSpanOptions`]), else by the configuration file's
//! `instrumentation/development.general.http` section, property by
//! property.

use std::sync::{Arc, LazyLock};

use http::{HeaderName, Method};
use spanflow::config::{HttpSpanSettings, PeerServiceMapping};

use crate::captured_headers::{CapturedHeaders, Message};
use crate::known_methods::KnownMethods;
use crate::peer_service::PeerServices;

/// What the spans of one of this crate's HTTP layers or middlewares record
/// beyond the HTTP conventions' defaults:
///
/// * request and response headers, as `http.request.header.<name>` and
///   `http.response.header.<name>` (lists of strings, one item per header
///   line; bytes that are not UTF-8 replaced), none by default;
/// * the methods recorded as they are, the conventions' ten by default
///   (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`,
///   `TRACE`, `PATCH`, `QUERY`); any other is `_OTHER` and names its span `HTTP`;
/// * for clients, the name of the service at each host they call, as
///   `peer.service` (none by default).
///
/// What is not set here comes from the configuration file
/// ([`spanflow::config::http_instrumentation`]: its `server` section for
/// server layers, `client` for clients, or without a file the known methods
/// of `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`; the peer services from
/// [`spanflow::config::peer_service_mapping`]). Headers carry cookies and
/// tokens: capture only those anyone who reads the traces may see.
///
/// ```
/// use http::{HeaderName, Method};
/// use spanflow_http::{HttpSpanOptions, TraceLayer};
///
/// let options = HttpSpanOptions::new()
///     .capture_request_headers([HeaderName::from_static("x-tenant")])
///     .capture_response_headers([http::header::CONTENT_TYPE])
///     .known_methods([Method::GET, Method::POST, Method::from_bytes(b"PURGE").unwrap()]);
/// let layer = TraceLayer::with_options(options);
/// # drop(layer);
/// ```
#[derive(Clone, Debug, Default)]
pub struct HttpSpanOptions {
    request_headers: Option<Vec<HeaderName>>,
    response_headers: Option<Vec<HeaderName>>,
    known_methods: Option<Vec<Method>>,
    peer_services: Option<Vec<PeerServiceMapping>>,
}

impl HttpSpanOptions {
    /// Nothing set: the configuration file's settings, else the defaults.
    pub fn new() -> Self {
        HttpSpanOptions::default()
    }

    /// Records these request headers (replacing the file's list).
    pub fn capture_request_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.request_headers = Some(names.into_iter().collect());
        self
    }

    /// Records these response headers (replacing the file's list).
    pub fn capture_response_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.response_headers = Some(names.into_iter().collect());
        self
    }

    /// Records these methods as they are, matched case-sensitively, and
    /// any other as `_OTHER`: the list replaces the conventions' one (and
    /// the file's), it does not add to it.
    pub fn known_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.known_methods = Some(methods.into_iter().collect());
        self
    }

    /// Names the service at each of these hosts as `peer.service` on the
    /// spans of the requests sent there (replacing the file's mapping);
    /// for a host listed twice, the later entry. Client layers only:
    /// server layers ignore it.
    ///
    /// ```
    /// use spanflow::config::PeerServiceMapping;
    /// use spanflow_http::{HttpSpanOptions, TracingMiddleware};
    ///
    /// let options = HttpSpanOptions::new().peer_services([
    ///     PeerServiceMapping::new("api.stripe.com", "stripe")?,
    ///     PeerServiceMapping::new("10.0.4.7:8443", "ledger")?,
    /// ]);
    /// let middleware = TracingMiddleware::with_options(options);
    /// # drop(middleware);
    /// # Ok::<(), spanflow::config::ConfigError>(())
    /// ```
    pub fn peer_services(mut self, mappings: impl IntoIterator<Item = PeerServiceMapping>) -> Self {
        self.peer_services = Some(mappings.into_iter().collect());
        self
    }
}

/// Whether a layer sends or serves requests: which section of the file
/// fills in what code did not set.
#[derive(Clone, Copy, Debug)]
// Without tower, the reqwest feature alone makes no server and actix-web
// alone no client.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) enum Side {
    Client,
    Server,
}

/// The settings a layer's spans follow.
#[derive(Debug, Default)]
pub(crate) struct SpanSettings {
    pub(crate) request_headers: CapturedHeaders,
    pub(crate) response_headers: CapturedHeaders,
    pub(crate) known_methods: KnownMethods,
    /// Empty for servers.
    #[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
    pub(crate) peer_services: PeerServices,
}

impl SpanSettings {
    /// `options`, with the configuration file's settings for `side` where
    /// they set nothing.
    fn resolve(options: HttpSpanOptions, side: Side) -> Self {
        let file = spanflow::config::http_instrumentation();
        match side {
            Side::Client => Self::resolve_with(
                options,
                &file.client,
                spanflow::config::peer_service_mapping(),
            ),
            // A server calls no peer.
            Side::Server => Self::resolve_with(options.peer_services([]), &file.server, Vec::new()),
        }
    }

    fn resolve_with(
        options: HttpSpanOptions,
        file: &HttpSpanSettings,
        file_peer_services: Vec<PeerServiceMapping>,
    ) -> Self {
        // The file's names were checked to be tokens when it was read, and
        // every token is a header name: none is left out here.
        let file_headers = |names: &[String]| -> Vec<HeaderName> {
            names
                .iter()
                .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect()
        };
        let request_headers = options
            .request_headers
            .unwrap_or_else(|| file_headers(&file.request_captured_headers));
        let response_headers = options
            .response_headers
            .unwrap_or_else(|| file_headers(&file.response_captured_headers));
        let known_methods = match (options.known_methods, &file.known_methods) {
            (Some(methods), _) => KnownMethods::listed(methods.iter().map(Method::as_str)),
            (None, Some(methods)) => KnownMethods::listed(methods.iter().map(String::as_str)),
            (None, None) => KnownMethods::Conventions,
        };
        let peer_services = PeerServices::new(options.peer_services.unwrap_or(file_peer_services));
        SpanSettings {
            request_headers: CapturedHeaders::new(Message::Request, request_headers),
            response_headers: CapturedHeaders::new(Message::Response, response_headers),
            known_methods,
            peer_services,
        }
    }
}

/// The file's settings for each side, read when a layer without options
/// first needs them.
static FILE_CLIENT: LazyLock<SpanSettings> =
    LazyLock::new(|| SpanSettings::resolve(HttpSpanOptions::new(), Side::Client));
static FILE_SERVER: LazyLock<SpanSettings> =
    LazyLock::new(|| SpanSettings::resolve(HttpSpanOptions::new(), Side::Server));

/// A layer's settings: the file's unless options were given, so that a
/// layer made with `new()` stays a `const` and costs nothing to clone.
#[derive(Clone, Debug)]
pub(crate) struct LayerSettings {
    side: Side,
    given: Option<Arc<SpanSettings>>,
}

impl LayerSettings {
    /// The file's settings (or the defaults) for `side`.
    pub(crate) const fn from_file(side: Side) -> Self {
        LayerSettings { side, given: None }
    }

    /// `options`, with the file's settings for `side` where they set nothing.
    pub(crate) fn given(side: Side, options: HttpSpanOptions) -> Self {
        LayerSettings {
            side,
            given: Some(Arc::new(SpanSettings::resolve(options, side))),
        }
    }

    pub(crate) fn get(&self) -> &SpanSettings {
        match &self.given {
            Some(given) => given,
            None => file_settings(self.side),
        }
    }
}

/// The configuration file's settings (or the defaults) for `side`.
pub(crate) fn file_settings(side: Side) -> &'static SpanSettings {
    match side {
        Side::Client => &FILE_CLIENT,
        Side::Server => &FILE_SERVER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_wins_property_by_property_over_the_file() {
        let mut file = HttpSpanSettings::default();
        file.request_captured_headers = vec!["X-Tenant".to_owned()];
        file.response_captured_headers = vec!["content-type".to_owned()];
        file.known_methods = Some(vec!["GET".to_owned(), "PURGE".to_owned()]);

        let mapped = |peer: &str, service: &str| {
            PeerServiceMapping::new(peer, service).expect("a valid peer")
        };
        let file_services = || vec![mapped("ledger.internal", "ledger")];
        let service = |settings: &SpanSettings, host: &str| {
            settings
                .peer_services
                .find(host, Some(443))
                .map(|service| service.as_str().to_owned())
        };

        let from_file = SpanSettings::resolve_with(HttpSpanOptions::new(), &file, file_services());
        assert_eq!(
            service(&from_file, "ledger.internal").as_deref(),
            Some("ledger")
        );
        assert_eq!(from_file.known_methods.name("PURGE"), "PURGE");
        assert_eq!(from_file.known_methods.name("POST"), "_OTHER");
        assert_eq!(
            from_file.request_headers.keys(),
            ["http.request.header.x-tenant"]
        );
        assert_eq!(
            from_file.response_headers.keys(),
            ["http.response.header.content-type"]
        );

        let options = HttpSpanOptions::new()
            .capture_response_headers([http::header::ETAG, http::header::ETAG])
            .known_methods([Method::POST]);
        let mixed = SpanSettings::resolve_with(options, &file, file_services());
        assert_eq!(
            service(&mixed, "ledger.internal").as_deref(),
            Some("ledger")
        );
        assert_eq!(mixed.known_methods.name("POST"), "POST");
        assert_eq!(mixed.known_methods.name("PURGE"), "_OTHER");
        assert_eq!(
            mixed.request_headers.keys(),
            ["http.request.header.x-tenant"]
        );
        assert_eq!(
            mixed.response_headers.keys(),
            ["http.response.header.etag"],
            "listed twice, captured once"
        );

        let options = HttpSpanOptions::new().peer_services([mapped("stripe.com", "stripe")]);
        let replaced = SpanSettings::resolve_with(options, &file, file_services());
        assert_eq!(service(&replaced, "stripe.com").as_deref(), Some("stripe"));
        assert_eq!(
            service(&replaced, "ledger.internal"),
            None,
            "the code's mapping replaces the file's"
        );
    }
}
