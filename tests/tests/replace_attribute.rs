//! `Span::replace_attribute`: a value learnt late replaces the one set at
//! the start, so the exported span carries its key once.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::Span;

#[test]
fn a_replaced_attribute_is_exported_once_with_its_last_value() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .install()
        .expect("the only pipeline of this binary");
    let mut span = spanflow::span!("call");
    span.set_attribute(KeyValue::new("rpc.method", "shop.Cart/Add"));
    span.set_attribute(KeyValue::new("rpc.system.name", "grpc"));
    span.replace_attribute(KeyValue::new("rpc.method", "_OTHER"));
    span.replace_attribute(KeyValue::new("rpc.method_original", "shop.Cart/Add"));
    Span::end(&mut span);
    pipeline.flush().expect("flushed");

    let spans = exporter.get_finished_spans().expect("in memory");
    assert_eq!(spans.len(), 1);
    let attributes: Vec<(&str, &Value)> = spans[0]
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str(), &kv.value))
        .filter(|(key, _)| !key.starts_with("code."))
        .collect();
    assert_eq!(
        attributes,
        [
            ("rpc.method", &Value::from("_OTHER")),
            ("rpc.system.name", &Value::from("grpc")),
            ("rpc.method_original", &Value::from("shop.Cart/Add")),
        ]
    );
}
