//! Writes a large OTLP-JSON file for measuring the reports' throughput:
//! `SPANS` spans in requests of 100, 10-span traces across four services,
//! with HTTP attributes and the runtime's clocks, like a real export.
//!
//! Run: `cargo run --release -p spanflow-report --example generate_spans -- FILE SPANS`

use std::io::{BufWriter, Write};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: generate_spans FILE SPANS");
    let total: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .expect("usage: generate_spans FILE SPANS");
    let services = ["api-gateway", "auth", "inventory", "payment"];
    let pods = ["checkout-7d9f-a", "checkout-7d9f-b", "checkout-8c1e-c"];
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let mut state = 0x1234_5678_9abc_def0_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_795_564_800_000_000_000_u64;
    let mut written = 0;
    let mut request = 0u64;
    while written < total {
        let service = services[(request % 4) as usize];
        let pod = pods[(request % 3) as usize];
        let mut spans = Vec::with_capacity(100);
        for trace_in_request in 0..10u64 {
            let trace = (u128::from(next()) << 64) | u128::from(next());
            let begin = start + (request * 10 + trace_in_request) * 2_000_000;
            for index in 0..10u64 {
                let took = 1_000_000 + next() % 200_000_000 / (index + 1);
                let failed = next() % 100 == 0;
                spans.push(Span {
                    trace_id: trace.to_be_bytes().to_vec(),
                    span_id: (index + 1).to_be_bytes().to_vec(),
                    parent_span_id: if index == 0 {
                        Vec::new()
                    } else {
                        1u64.to_be_bytes().to_vec()
                    },
                    name: if index == 0 {
                        "POST /checkout".into()
                    } else {
                        format!("step.{index}")
                    },
                    kind: if index == 0 { 2 } else { 1 },
                    start_time_unix_nano: begin,
                    end_time_unix_nano: begin + took,
                    attributes: vec![
                        kv("http.request.method", text("POST")),
                        kv("http.route", text("/checkout")),
                        kv(
                            "spanflow.busy_ns",
                            any_value::Value::IntValue((took / 3) as i64),
                        ),
                        kv(
                            "spanflow.idle_ns",
                            any_value::Value::IntValue((took / 2) as i64),
                        ),
                        kv("code.function.name", text("checkout::handler")),
                    ],
                    status: failed.then(|| Status {
                        code: status::StatusCode::Error as i32,
                        message: "declined".into(),
                    }),
                    ..Default::default()
                });
            }
        }
        written += spans.len() as u64;
        let line = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", text(service)),
                        kv("k8s.pod.name", text(pod)),
                        kv(
                            "spanflow.deployment.variant",
                            text(if request.is_multiple_of(10) {
                                "canary"
                            } else {
                                "baseline"
                            }),
                        ),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
        request += 1;
    }
    out.flush()?;
    eprintln!("{written} spans written to {path}");
    Ok(())
}
