//! `OTEL_PROPAGATORS=b3multi`: a real HTTP hop on 127.0.0.1 carries the
//! trace in Zipkin's `x-b3-*` headers (and no `traceparent`), and a request
//! from a B3 service with the single `b3` header continues that service's
//! trace. One test, so that it alone sets this binary's environment.

mod support;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};

/// The trace headers a request came with, one `name: value` per line.
async fn trace_headers(headers: HeaderMap) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-b3-") || *name == "traceparent")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b3_headers_carry_the_trace_both_ways() {
    // SAFETY: this binary's only test sets the variable before any thread
    // reads it.
    unsafe { std::env::set_var("OTEL_PROPAGATORS", "b3multi") };
    support::installed();

    let app = Router::new()
        .route("/headers", get(trace_headers))
        .layer(spanflow_http::TraceLayer::new());
    let address = support::serve(app).await;

    // Out: spanflow's client writes B3 and nothing else.
    let (trace, seen) = support::traced_get(format!("http://{address}/headers")).await;
    let spans = support::spans_of(trace);
    let client = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .expect("a client span");
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("a server span");
    assert_eq!(
        seen,
        format!(
            "x-b3-sampled: 1\nx-b3-spanid: {}\nx-b3-traceid: {trace}",
            client.span_context.span_id()
        )
    );
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);

    // In: a B3 service's single header, sampled, with a 64-bit trace id.
    let caller_trace = TraceId::from_hex("463ac35c9f6413ad").unwrap();
    let caller_span = SpanId::from_hex("a2fb4a1d1a96d312").unwrap();
    reqwest::Client::new()
        .get(format!("http://{address}/headers"))
        .header("b3", format!("{caller_trace}-{caller_span}-1"))
        .send()
        .await
        .expect("the server answers");
    let continued = support::spans_of(caller_trace);
    assert_eq!(
        continued.len(),
        1,
        "the server span joined the caller's trace"
    );
    assert_eq!(continued[0].span_kind, SpanKind::Server);
    assert_eq!(continued[0].parent_span_id, caller_span);
    assert!(continued[0].span_context.is_sampled());
}
