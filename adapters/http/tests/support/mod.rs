//! What the HTTP adapter tests share: one pipeline per test binary into
//! memory, the spans of one trace, an axum app served on a loopback port,
//! and a traced GET from a fresh root span.

#![allow(dead_code)] // each test binary uses a part

use std::sync::OnceLock;

use opentelemetry::Value;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::PipelineGuard;
use spanflow_http::RequestBuilderExt;

/// Serves `app` on a free loopback port until the test's runtime ends.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// The pipeline of this test binary, installed on first use.
pub fn installed() -> &'static (InMemorySpanExporter, PipelineGuard) {
    static INSTALLED: OnceLock<(InMemorySpanExporter, PipelineGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .install()
            .expect("the only pipeline of this binary");
        (exporter, pipeline)
    })
}

/// Every finished span of `trace` in the installed pipeline.
pub fn spans_of(trace: TraceId) -> Vec<SpanData> {
    let (exporter, pipeline) = installed();
    spans_in(exporter, pipeline, trace)
}

/// Every finished span of `trace`, after a flush.
pub fn spans_in(
    exporter: &InMemorySpanExporter,
    pipeline: &PipelineGuard,
    trace: TraceId,
) -> Vec<SpanData> {
    pipeline.flush().expect("flushed in time");
    exporter
        .get_finished_spans()
        .expect("in-memory exporter")
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .collect()
}

/// An attribute's value.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// A GET with `send_traced` inside a new root span named `caller`; the
/// trace id and the response body.
pub async fn traced_get(url: String) -> (TraceId, String) {
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let body = spanflow::TracedExt::in_span(
        async {
            reqwest::Client::new()
                .get(url)
                .send_traced()
                .await
                .expect("the server answers")
                .text()
                .await
                .expect("a text body")
        },
        root,
    )
    .await;
    (trace, body)
}

/// Sends `request` with `send_traced` inside a new root span named
/// `caller` and expects a 200; the trace id.
pub async fn traced_send(request: reqwest::RequestBuilder) -> TraceId {
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let response = spanflow::TracedExt::in_span(request.send_traced(), root)
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    trace
}

/// Asserts that the SERVER span `server` of `spans` parents the `count`
/// spans named `piece` its streamed body was made by, and ends after them.
pub fn assert_streamed(spans: &[SpanData], server: &str, piece: &str, count: usize) {
    let server_span = spans
        .iter()
        .find(|span| span.span_kind == opentelemetry::trace::SpanKind::Server)
        .expect("the server span");
    assert_eq!(server_span.name, server);
    let pieces: Vec<_> = spans.iter().filter(|span| span.name == piece).collect();
    assert_eq!(
        pieces.len(),
        count,
        "each piece traced in the request's trace"
    );
    for made in pieces {
        assert_eq!(
            made.parent_span_id,
            server_span.span_context.span_id(),
            "made while the server span is current"
        );
        assert!(
            server_span.end_time >= made.end_time,
            "the server span ends after the body it sent"
        );
    }
}

/// A plain (untraced) GET of `url` with `headers` and a `traceparent`
/// naming a fresh trace, so that the server's span is found by it; the
/// trace id.
pub async fn get_with_headers(url: String, headers: &[(&str, &str)]) -> TraceId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let trace = TraceId::from(
        (0x5eed_u128 << 64) | u128::from(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
    );
    let mut request = reqwest::Client::new()
        .get(url)
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the server answers");
    trace
}
