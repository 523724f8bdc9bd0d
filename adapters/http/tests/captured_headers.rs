//! `HttpSpanOptions` given in code, on real servers and clients on
//! 127.0.0.1: the headers asked for are recorded as string lists (one item
//! per header line) on the side they were asked for, and the known methods
//! replace the conventions' list on each side.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::any;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Array, Context, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow_http::{HttpClientLayer, HttpSpanOptions, TraceLayer, TracingMiddleware};
use support::attribute;
use tower_layer::Layer;
use tower_service::Service;

fn purge() -> Method {
    Method::from_bytes(b"PURGE").expect("a method")
}

fn tenant() -> HeaderName {
    HeaderName::from_static("x-tenant")
}

fn served_by() -> HeaderName {
    HeaderName::from_static("x-served-by")
}

fn strings(items: &[&str]) -> Value {
    Value::Array(Array::String(
        items
            .iter()
            .map(|item| StringValue::from(item.to_string()))
            .collect(),
    ))
}

/// An axum app whose layer captures `x-tenant` (and an absent header) of
/// requests and `content-type` and `x-served-by` of responses, and knows
/// `GET` and `PURGE` only.
async fn serve() -> SocketAddr {
    async fn item() -> impl IntoResponse {
        // Two lines of one header.
        (
            AppendHeaders([(served_by(), "node-a"), (served_by(), "node-b")]),
            "twelve",
        )
    }
    let options = HttpSpanOptions::new()
        .capture_request_headers([tenant(), HeaderName::from_static("x-absent")])
        .capture_response_headers([http::header::CONTENT_TYPE, served_by()])
        .known_methods([Method::GET, purge()]);
    let app = Router::new()
        .route("/items/{id}", any(item))
        .layer(TraceLayer::with_options(options));
    support::serve(app).await
}

fn of_kind(spans: &[SpanData], kind: SpanKind) -> &SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} span among {spans:#?}");
    found[0]
}

/// Sends `method` with two `x-tenant` lines (one not UTF-8) through a
/// reqwest client with `options`, inside a root span; its trace.
async fn send(address: SocketAddr, method: Method, options: HttpSpanOptions) -> TraceId {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::with_options(options))
        .build();
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let send = client
        .request(method, format!("http://{address}/items/7"))
        .header(tenant(), "acme")
        .header(
            tenant(),
            HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a header value"),
        )
        .send();
    let response = spanflow::TracedExt::in_span(send, root)
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    trace
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_for_headers_are_recorded_as_lists_on_their_side() {
    support::installed();
    let address = serve().await;
    let trace = send(
        address,
        purge(),
        HttpSpanOptions::new()
            .capture_request_headers([tenant()])
            .capture_response_headers([served_by()])
            .known_methods([purge()]),
    )
    .await;
    let spans = support::spans_of(trace);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let server = of_kind(&spans, SpanKind::Server);
    let client = of_kind(&spans, SpanKind::Client);
    assert_eq!(server.parent_span_id, client.span_context.span_id());

    let tenants = strings(&["acme", "caf\u{fffd}"]);
    for span in [server, client] {
        assert_eq!(
            attribute(span, "http.request.header.x-tenant"),
            Some(&tenants),
            "every line, in order, on {}",
            span.name
        );
        assert_eq!(
            attribute(span, "http.response.header.x-served-by"),
            Some(&strings(&["node-a", "node-b"]))
        );
        // PURGE is known on both sides here.
        assert_eq!(
            attribute(span, "http.request.method"),
            Some(&Value::from("PURGE"))
        );
        assert_eq!(attribute(span, "http.request.method_original"), None);
    }
    assert_eq!(server.name, "PURGE /items/{id}");
    assert_eq!(client.name, "PURGE");
    assert_eq!(
        attribute(server, "http.response.header.content-type"),
        Some(&strings(&["text/plain; charset=utf-8"]))
    );
    assert_eq!(attribute(server, "http.request.header.x-absent"), None);
    assert_eq!(
        attribute(client, "http.response.header.content-type"),
        None,
        "the client did not ask for it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_methods_replace_the_conventions_list_on_each_side() {
    support::installed();
    let address = serve().await;
    // The client knows PURGE only; the server GET and PURGE.
    let trace = send(
        address,
        Method::GET,
        HttpSpanOptions::new().known_methods([purge()]),
    )
    .await;
    let spans = support::spans_of(trace);
    let client = of_kind(&spans, SpanKind::Client);
    assert_eq!(client.name, "HTTP");
    assert_eq!(
        attribute(client, "http.request.method"),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        attribute(client, "http.request.method_original"),
        Some(&Value::from("GET"))
    );
    assert_eq!(
        attribute(client, "http.request.header.x-tenant"),
        None,
        "no headers asked for"
    );
    let server = of_kind(&spans, SpanKind::Server);
    assert_eq!(server.name, "GET /items/{id}");

    // POST is not among the server's known methods.
    let trace = send(address, Method::POST, HttpSpanOptions::new()).await;
    let spans = support::spans_of(trace);
    let server = of_kind(&spans, SpanKind::Server);
    assert_eq!(server.name, "HTTP /items/{id}");
    assert_eq!(
        attribute(server, "http.request.method"),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        attribute(server, "http.request.method_original"),
        Some(&Value::from("POST"))
    );
    assert_eq!(of_kind(&spans, SpanKind::Client).name, "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_client_records_what_its_options_ask_for() {
    support::installed();
    let address = serve().await;
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let sent = async {
        assert_eq!(Context::current().span().span_context().trace_id(), trace);
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let options = HttpSpanOptions::new()
            .capture_request_headers([tenant()])
            .capture_response_headers([served_by(), http::header::CONTENT_LENGTH])
            .known_methods([purge()]);
        let mut traced = HttpClientLayer::with_options(options).layer(client);
        let request = http::Request::builder()
            .method(purge())
            .uri(format!("http://{address}/items/9"))
            .header(tenant(), "globex")
            .body(Empty::new())
            .expect("a request");
        traced
            .call(request)
            .await
            .expect("the server answers")
            .status()
    };
    let status = spanflow::TracedExt::in_span(sent, root).await;
    assert_eq!(status, 200);
    let spans = support::spans_of(trace);
    let client = of_kind(&spans, SpanKind::Client);
    assert_eq!(client.name, "PURGE");
    assert_eq!(
        attribute(client, "http.request.header.x-tenant"),
        Some(&strings(&["globex"]))
    );
    assert_eq!(
        attribute(client, "http.response.header.x-served-by"),
        Some(&strings(&["node-a", "node-b"]))
    );
    assert_eq!(
        attribute(client, "http.response.header.content-length"),
        Some(&strings(&["6"]))
    );
    assert_eq!(
        attribute(
            of_kind(&spans, SpanKind::Server),
            "http.request.header.x-tenant"
        ),
        Some(&strings(&["globex"]))
    );
}
