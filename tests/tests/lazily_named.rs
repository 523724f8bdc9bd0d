//! `Span::with_parent_lazily_named` / `Span::lazily_named` without sampling
//! rules: the name and attributes are built only for a span that records,
//! once, and it carries them.

use std::borrow::Cow;
use std::cell::Cell;

use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::{Sampler, Span};

fn counted<'a>(
    calls: &'a Cell<u32>,
    name: &'static str,
) -> impl FnOnce() -> (Cow<'static, str>, Vec<KeyValue>) + 'a {
    move || {
        calls.set(calls.get() + 1);
        (name.into(), vec![KeyValue::new("topic", "orders")])
    }
}

#[test]
fn the_name_is_built_only_for_a_recorded_span() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampler(Sampler::AlwaysOff)
        .install()
        .expect("the only pipeline of this binary");
    let callsite = spanflow::callsite!("process", kind = consumer);
    let calls = Cell::new(0);

    // Dropped by the sampler: nothing built, the context still carried.
    let mut dropped = Span::lazily_named(callsite, counted(&calls, "process orders"));
    assert!(!dropped.is_recording());
    assert!(dropped.context().is_some(), "sampled=0 goes on downstream");
    dropped.end();
    let mut dropped =
        Span::with_parent_lazily_named(callsite, Context::new(), counted(&calls, "process orders"));
    assert!(!dropped.is_recording());
    dropped.end();
    assert_eq!(calls.get(), 0, "an unrecorded span builds no name");

    // Recorded: built once, under the given parent, named and attributed.
    pipeline.set_sampler(Sampler::AlwaysOn);
    let mut parent = spanflow::span!("poll");
    let parent_context = parent.span_context();
    let mut recorded =
        Span::with_parent_lazily_named(callsite, &parent, counted(&calls, "process orders"));
    assert!(recorded.is_recording());
    recorded.end();
    let under_current = parent.in_scope(|| {
        let mut span = Span::lazily_named(callsite, counted(&calls, "send orders"));
        span.end();
        span.span_context()
    });
    assert_eq!(calls.get(), 2, "once per recorded span");

    drop(parent);
    pipeline.flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let process = spans.iter().find(|s| s.name == "process orders").unwrap();
    let send = spans.iter().find(|s| s.name == "send orders").unwrap();
    assert_eq!(process.parent_span_id, parent_context.span_id());
    assert_eq!(send.parent_span_id, parent_context.span_id());
    assert_eq!(send.span_context.span_id(), under_current.span_id());
    for span in [process, send] {
        let topic = span.attributes.iter().find(|kv| kv.key.as_str() == "topic");
        assert_eq!(topic.map(|kv| &kv.value), Some(&Value::from("orders")));
    }
    assert_eq!(
        spans.len(),
        3,
        "poll, process and send; nothing dropped recorded"
    );
}
