//! Baggage crosses a real HTTP hop and lands on every span as attributes.

mod support;

use axum::Router;
use axum::routing::get;
use opentelemetry::Value;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow_http::{RequestBuilderExt, TraceLayer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_id_in_baggage_reaches_the_server_and_its_spans() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_baggage_attributes(["tenant.id"])
        .install()
        .expect("the only pipeline of this binary");

    let app = Router::new()
        .route(
            "/whoami",
            get(|| async { spanflow::baggage::get("tenant.id").unwrap_or_default() }),
        )
        .layer(TraceLayer::new());
    let address = support::serve(app).await;

    let cx = spanflow::baggage::with_entries([("tenant.id", "acme corp"), ("priority", "high")]);
    let answer = spanflow::in_context(cx, async {
        let root = spanflow::span!("request");
        let trace = root.span_context().trace_id();
        let body = async {
            reqwest::Client::new()
                .get(format!("http://{address}/whoami"))
                .send_traced()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        let body = spanflow::TracedExt::in_span(body, root).await;
        (trace, body)
    })
    .await;
    let (trace, body) = answer;
    assert_eq!(body, "acme corp", "the handler read the caller's baggage");

    let spans = support::spans_in(&exporter, &pipeline, trace);
    assert_eq!(spans.len(), 3);
    for span in &spans {
        let tenant = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "tenant.id");
        assert_eq!(
            tenant.map(|kv| &kv.value),
            Some(&Value::from("acme corp")),
            "{}",
            span.name
        );
        assert!(
            !span
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "priority"),
            "only chosen keys"
        );
    }
    assert!(spans.iter().any(|s| s.span_kind == SpanKind::Server));
}
