//! One pipeline per test binary, exporting into memory.

#![allow(dead_code)]

use std::sync::OnceLock;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::PipelineGuard;

struct Installed {
    exporter: InMemorySpanExporter,
    pipeline: PipelineGuard,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .install()
            .expect("the only pipeline of this test binary");
        Installed { exporter, pipeline }
    })
}

/// Installs the pipeline (idempotent).
pub fn setup() {
    installed();
}

pub fn pipeline() -> &'static PipelineGuard {
    &installed().pipeline
}

/// Every finished span of `trace_id`, after handing all ended spans to the
/// exporter.
pub fn spans_of(trace_id: TraceId) -> Vec<SpanData> {
    let installed = installed();
    installed
        .pipeline
        .flush()
        .expect("flush within the deadline");
    installed
        .exporter
        .get_finished_spans()
        .expect("in-memory exporter")
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id)
        .collect()
}

/// The one span called `name`; fails if there is none or several.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, got {} among {:?}",
        found.len(),
        spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>()
    );
    found[0]
}

pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn int_attribute(span: &SpanData, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::I64(value)) => *value,
        other => panic!("{key} on {}: expected an integer, got {other:?}", span.name),
    }
}

pub fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} and {} are in different traces",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

pub fn assert_root(span: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{} has a parent",
        span.name
    );
}

/// The trace id of the current context.
pub fn current_trace_id() -> TraceId {
    use opentelemetry::trace::TraceContextExt;
    opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id()
}
