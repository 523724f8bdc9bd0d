//! `#[trace]` spans through an explicitly given OpenTelemetry provider.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use spanflow::trace;

#[trace(kind = server, err, fields(order = 5))]
async fn checkout() -> Result<(), String> {
    tokio::task::yield_now().await;
    reserve();
    Err("card declined".into())
}

#[trace]
fn reserve() {}

#[tokio::test]
async fn spans_go_through_the_given_provider() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let _guard = spanflow::install_tracer_provider(provider.clone()).expect("first install");
    assert!(matches!(
        spanflow::install_tracer_provider(provider.clone()),
        Err(spanflow::InstallError::AlreadyInstalled)
    ));

    let tracer = provider.tracer("app");
    let root = tracer.start("request");
    let cx = Context::current_with_span(root);
    {
        let _attached = cx.clone().attach();
        assert!(checkout().await.is_err());
    }
    cx.span().end();

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 3);
    let find = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let (request, checkout, reserve) = (find("request"), find("checkout"), find("reserve"));
    assert_eq!(checkout.parent_span_id, request.span_context.span_id());
    assert_eq!(reserve.parent_span_id, checkout.span_context.span_id());
    assert_eq!(checkout.span_kind, SpanKind::Server);
    assert_eq!(checkout.status, Status::error("card declined"));
    assert_eq!(checkout.instrumentation_scope.name(), "spanflow");
    assert!(
        checkout
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "order" && kv.value == Value::I64(5))
    );
    assert!(
        checkout
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "spanflow.busy_ns")
    );
}
