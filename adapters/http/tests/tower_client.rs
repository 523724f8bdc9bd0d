//! `HttpClientLayer` on hyper-util's client, against an axum server behind
//! `TraceLayer` on 127.0.0.1: one trace with the right parents, the HTTP
//! attributes, and failures marked.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow::trace;
use spanflow_http::{HttpClientLayer, TraceLayer};
use tower_layer::Layer;
use tower_service::Service;

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/stock/{item}", get(|| async { "12" }))
        .route("/broken", get(|| async { StatusCode::BAD_GATEWAY }))
        .layer(TraceLayer::new());
    support::serve(app).await
}

/// A GET through the traced hyper client inside a root span; the trace
/// and the status, or `None` when no response came.
#[trace]
async fn get_traced(url: String) -> (TraceId, Option<u16>) {
    let trace = Context::current().span().span_context().trace_id();
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut traced = HttpClientLayer::new().layer(client);
    let request = http::Request::get(url).body(Empty::new()).unwrap();
    let status = traced
        .call(request)
        .await
        .ok()
        .map(|response| response.status().as_u16());
    (trace, status)
}

fn kind(spans: &[SpanData], kind: SpanKind) -> &SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} span among {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_through_the_layer_continues_on_the_server() {
    support::installed();
    let address = serve().await;
    let (trace, status) = get_traced(format!("http://{address}/stock/7?fresh=1")).await;
    assert_eq!(status, Some(200));
    let spans = support::spans_of(trace);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let root = spans.iter().find(|s| s.name == "get_traced").unwrap();
    let client = kind(&spans, SpanKind::Client);
    let server = kind(&spans, SpanKind::Server);
    assert_eq!(client.name, "GET");
    assert_eq!(client.parent_span_id, root.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(
        server.parent_span_is_remote,
        "the context went in the headers"
    );
    for (key, value) in [
        (
            "url.full",
            Value::from(format!("http://{address}/stock/7?fresh=1")),
        ),
        ("server.address", Value::from("127.0.0.1")),
        ("server.port", Value::I64(i64::from(address.port()))),
        ("http.request.method", Value::from("GET")),
        ("http.response.status_code", Value::I64(200)),
        ("network.peer.address", Value::from("127.0.0.1")),
        ("network.peer.port", Value::I64(i64::from(address.port()))),
        ("network.protocol.version", Value::from("1.1")),
    ] {
        assert_eq!(support::attribute(client, key), Some(&value), "{key}");
    }
    assert_eq!(client.status, Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_and_a_refused_connection_mark_the_client_span_failed() {
    support::installed();
    let address = serve().await;
    let (trace, status) = get_traced(format!("http://{address}/broken")).await;
    assert_eq!(status, Some(502));
    let spans = support::spans_of(trace);
    let client = kind(&spans, SpanKind::Client);
    assert!(matches!(client.status, Status::Error { .. }), "{client:#?}");
    assert_eq!(
        support::attribute(client, "error.type"),
        Some(&Value::from("502"))
    );

    // A port nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap();
    drop(closed);
    let (trace, status) = get_traced(format!("http://{closed_address}/")).await;
    assert_eq!(status, None, "the connection was refused");
    let spans = support::spans_of(trace);
    let client = kind(&spans, SpanKind::Client);
    assert!(matches!(client.status, Status::Error { .. }), "{client:#?}");
    assert_eq!(
        support::attribute(client, "error.type"),
        Some(&Value::from("hyper_util::client::legacy::client::Error"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_signatures_in_a_url_are_redacted() {
    support::installed();
    let address = serve().await;
    for (url, shown) in [
        (
            format!("http://reader:s3cret@{address}/stock/7"),
            format!("http://REDACTED:REDACTED@{address}/stock/7"),
        ),
        (
            format!("http://{address}/stock/7?X-Goog-Signature=f00d&size=2"),
            format!("http://{address}/stock/7?X-Goog-Signature=REDACTED&size=2"),
        ),
        (
            format!("http://{address}/stock/7?size=2"),
            format!("http://{address}/stock/7?size=2"),
        ),
    ] {
        let (trace, status) = get_traced(url).await;
        assert_eq!(status, Some(200));
        let spans = support::spans_of(trace);
        assert_eq!(
            support::attribute(kind(&spans, SpanKind::Client), "url.full"),
            Some(&Value::from(shown))
        );
    }
}
