//! OTLP given in code beside an exporter given in code: both get every
//! span (and the collector, having two exports, hands the OTLP processor
//! `SpanData`, not records).

use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::OtlpReceiver;

#[spanflow::trace]
fn work() -> String {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .span_id()
        .to_string()
}

#[test]
fn both_exports_get_the_same_spans() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    let target = OtlpTarget::new(&receiver.grpc_endpoint(), OtlpProtocol::Grpc).unwrap();
    let memory = InMemorySpanExporter::default();
    let pipeline = spanflow::pipeline!()
        .with_simple_exporter(memory.clone())
        .with_otlp(target)
        .install()
        .expect("both from code");
    let ids: Vec<String> = (0..3).map(|_| work()).collect();
    pipeline.flush().expect("flushed");

    let mut in_memory: Vec<String> = memory
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|span| span.span_context.span_id().to_string())
        .collect();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut over_otlp: Vec<String> = receiver
        .spans()
        .iter()
        .map(|(_, span)| hex(&span.span_id))
        .collect();
    let mut expected = ids;
    expected.sort();
    in_memory.sort();
    over_otlp.sort();
    assert_eq!(in_memory, expected);
    assert_eq!(over_otlp, expected);
    assert!(pipeline.store().is_none(), "no embedded default");
}
