//! A streamed response on a real axum server: the request's SERVER span is
//! current while the body is made and lasts until it has been sent.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use futures::StreamExt;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use spanflow::trace;
use spanflow_http::{RequestBuilderExt, TraceLayer};

/// One piece of the body, made by traced work.
#[trace(args(index))]
async fn chunk(index: u32) -> Result<Bytes, Infallible> {
    tokio::task::yield_now().await;
    Ok(Bytes::from(format!("{index}\n")))
}

/// A body that fails after its first piece.
async fn failing(index: u32) -> Result<Bytes, std::io::Error> {
    match index {
        0 => Ok(Bytes::from_static(b"0\n")),
        _ => Err(std::io::Error::other("the source went away")),
    }
}

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route(
            "/stream",
            get(|| async { Body::from_stream(futures::stream::iter(0..3).then(chunk)) }),
        )
        .route(
            "/broken",
            get(|| async { Body::from_stream(futures::stream::iter(0..2).then(failing)) }),
        )
        .layer(TraceLayer::new());
    support::serve(app).await
}

#[trace]
async fn fetch(url: String) -> (opentelemetry::trace::TraceId, Result<String, String>) {
    let trace = opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id();
    // A body that fails may cut the response before its head is sent.
    let body = match reqwest::Client::new().get(url).send_traced().await {
        Ok(response) => response.text().await.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    (trace, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_span_covers_a_streamed_body_and_parents_its_work() {
    support::installed();
    let server = serve().await;
    let (trace, body) = fetch(format!("http://{server}/stream")).await;
    assert_eq!(body.as_deref(), Ok("0\n1\n2\n"));

    let spans = support::spans_of(trace);
    support::assert_streamed(&spans, "GET /stream", "chunk", 3);
    let server_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("the server span");
    assert_eq!(server_span.status, Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_fails_marks_the_server_span() {
    support::installed();
    let server = serve().await;
    let (trace, body) = fetch(format!("http://{server}/broken")).await;
    assert!(body.is_err(), "the client sees the body cut: {body:?}");

    let spans = support::spans_of(trace);
    let server_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("the server span");
    assert!(
        matches!(server_span.status, Status::Error { .. }),
        "{:?}",
        server_span.status
    );
    assert_eq!(
        support::attribute(server_span, "error.type").map(|value| value.as_str().into_owned()),
        Some(std::any::type_name::<axum::Error>().to_owned())
    );
}
