//! Generated OTLP-JSON inputs with known answers.

#![allow(dead_code)] // each test binary uses a part

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};

pub const MS: u64 = 1_000_000;
/// 2026-11-25T00:00:00Z.
pub const T0: u64 = 1_795_564_800 * 1_000_000_000;

/// A span to write: what the tests vary.
#[derive(Clone, Debug)]
pub struct Gen {
    pub trace: u128,
    pub id: u64,
    pub parent: u64,
    pub name: &'static str,
    pub kind: span::SpanKind,
    pub start_ns: u64,
    pub took_ns: u64,
    pub error: bool,
    pub attributes: Vec<(&'static str, any_value::Value)>,
    /// Log lines as spanflow's bridges record them: (ns after the start,
    /// level, message).
    pub logs: Vec<(u64, &'static str, &'static str)>,
}

impl Gen {
    /// A root span of its own trace.
    pub fn root(trace: u128, name: &'static str, start_ns: u64, took_ns: u64) -> Gen {
        Gen {
            trace,
            id: 1,
            parent: 0,
            name,
            kind: span::SpanKind::Server,
            start_ns,
            took_ns,
            error: false,
            attributes: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub fn logged(mut self, after_ns: u64, level: &'static str, message: &'static str) -> Gen {
        self.logs.push((after_ns, level, message));
        self
    }

    pub fn with(mut self, key: &'static str, value: any_value::Value) -> Gen {
        self.attributes.push((key, value));
        self
    }

    pub fn failed(mut self) -> Gen {
        self.error = true;
        self
    }
}

pub fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

pub fn int(value: i64) -> any_value::Value {
    any_value::Value::IntValue(value)
}

fn key_value(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// One OTLP-JSON line holding `spans` of `service`.
pub fn line(service: &str, spans: &[Gen]) -> String {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value("service.name", text(service))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: spans
                    .iter()
                    .map(|g| Span {
                        trace_id: g.trace.to_be_bytes().to_vec(),
                        span_id: g.id.to_be_bytes().to_vec(),
                        parent_span_id: if g.parent == 0 {
                            Vec::new()
                        } else {
                            g.parent.to_be_bytes().to_vec()
                        },
                        name: g.name.to_owned(),
                        kind: g.kind as i32,
                        start_time_unix_nano: g.start_ns,
                        end_time_unix_nano: g.start_ns + g.took_ns,
                        attributes: g
                            .attributes
                            .iter()
                            .map(|(key, value)| key_value(key, value.clone()))
                            .collect(),
                        events: g
                            .logs
                            .iter()
                            .map(|(after_ns, level, message)| span::Event {
                                time_unix_nano: g.start_ns + after_ns,
                                name: "log".into(),
                                attributes: vec![
                                    key_value("level", text(level)),
                                    key_value("message", text(message)),
                                ],
                                ..Default::default()
                            })
                            .collect(),
                        status: g.error.then(|| Status {
                            code: status::StatusCode::Error as i32,
                            message: "failed".into(),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    serde_json::to_string(&request).expect("serialisable")
}

/// A fresh path in the temporary directory.
pub fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "spanflow-report-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `lines` to a new file.
pub fn file(lines: &[String]) -> PathBuf {
    let path = temp_path("spans.jsonl");
    let mut out = std::fs::File::create(&path).unwrap();
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
    path
}
