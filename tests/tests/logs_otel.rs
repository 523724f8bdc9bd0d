//! Log lines exported through OpenTelemetry logs (opentelemetry-appender-log)
//! keep their correlation with spanflow's spans, and still become span
//! events through `LogBridge`.

use opentelemetry::trace::TraceContextExt;
use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::trace;

#[trace]
async fn handler() -> (opentelemetry::trace::TraceId, opentelemetry::trace::SpanId) {
    tokio::task::yield_now().await;
    log::warn!("payment retried");
    let context = opentelemetry::Context::current();
    let span = context.span();
    (
        span.span_context().trace_id(),
        span.span_context().span_id(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_log_records_carry_the_spanflow_span_ids() {
    let spans = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(spans.clone())
        .install()
        .expect("the only pipeline of this binary");
    let logs = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(logs.clone())
        .build();
    spanflow::logs::LogBridge::new(OpenTelemetryLogBridge::new(&provider))
        .install()
        .expect("the only logger of this binary");

    let (trace, span) = handler().await;
    pipeline.flush().unwrap();

    let records = logs.get_emitted_logs().unwrap();
    let record = records
        .iter()
        .find(|log| format!("{:?}", log.record.body()).contains("payment retried"))
        .expect("the record was exported");
    let context = record.record.trace_context().expect("correlated");
    assert_eq!((context.trace_id, context.span_id), (trace, span));

    let exported = spans.get_finished_spans().unwrap();
    let handler = exported.iter().find(|s| s.name == "handler").unwrap();
    assert_eq!(handler.span_context.span_id(), span);
    assert!(handler.events.iter().any(|event| event.name == "log"));
}
