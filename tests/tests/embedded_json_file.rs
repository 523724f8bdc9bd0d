//! The OTLP-JSON file sink writes the Collector's file-exporter encoding,
//! with the resource `pipeline!()` builds from the calling crate.

use serde_json::Value;
use spanflow::{EmbeddedExport, trace};

#[trace(kind = server, fields(cart.items = 3))]
fn checkout() {
    reserve();
}

#[trace(kind = client)]
fn reserve() {}

#[test]
fn each_line_is_an_export_trace_service_request() {
    let path = std::env::temp_dir().join(format!("spanflow-{}.jsonl", std::process::id()));
    let pipeline = spanflow::pipeline!()
        .with_embedded_export(EmbeddedExport::JsonFile(path.clone()))
        .install()
        .expect("the only pipeline of this binary");
    checkout();
    pipeline.shutdown().expect("flushed in time");

    let text = std::fs::read_to_string(&path).expect("the file was written");
    std::fs::remove_file(&path).ok();
    let mut spans = Vec::new();
    let mut resources = Vec::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("each line is one JSON document");
        for resource_spans in request["resourceSpans"].as_array().expect("resourceSpans") {
            resources.push(resource_spans["resource"].clone());
            for scope_spans in resource_spans["scopeSpans"].as_array().unwrap() {
                assert_eq!(scope_spans["scope"]["name"], "spanflow");
                spans.extend(scope_spans["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    assert_eq!(spans.len(), 2, "{text}");
    let find = |name: &str| spans.iter().find(|s| s["name"] == name).unwrap().clone();
    let (root, child) = (find("checkout"), find("reserve"));
    assert_eq!(root["traceId"], child["traceId"]);
    assert_eq!(
        root["traceId"].as_str().unwrap().len(),
        32,
        "trace ids are hex"
    );
    assert_eq!(child["parentSpanId"], root["spanId"]);
    assert_eq!(root["kind"], 2, "SPAN_KIND_SERVER");
    assert_eq!(child["kind"], 3, "SPAN_KIND_CLIENT");
    assert!(root["startTimeUnixNano"].is_string() || root["startTimeUnixNano"].is_number());
    let items = root["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "cart.items")
        .expect("the field");
    assert_eq!(
        items["value"]["intValue"].to_string().trim_matches('"'),
        "3"
    );

    let attribute = |key: &str| {
        resources[0]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv["key"] == key)
            .map(|kv| kv["value"]["stringValue"].clone())
    };
    assert_eq!(
        attribute("service.name"),
        Some(Value::from("spanflow-tests"))
    );
    assert_eq!(
        attribute("service.version"),
        Some(Value::from(env!("CARGO_PKG_VERSION")))
    );
}
