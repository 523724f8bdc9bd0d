//! `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` (over the general
//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`): string attribute values of spanflow
//! spans and of spans made through the OpenTelemetry API keep that many
//! characters, in span, event and link attributes alike; a value that is not
//! a whole number is an error naming the variable. One test, so that it alone
//! changes this process's environment.

mod env;

use env::{refused, set};
use opentelemetry::trace::{Link, Span as _, SpanContext, Tracer};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow::Span;

fn value<'a>(attributes: &'a [KeyValue], key: &str) -> &'a Value {
    &attributes
        .iter()
        .find(|attribute| attribute.key.as_str() == key)
        .unwrap_or_else(|| panic!("no attribute {key}"))
        .value
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn string_values_keep_the_first_characters_the_limit_allows() {
    set("SPANFLOW_EXPORT", "memory");
    set("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "short");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "short",
    );

    set("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10");
    set("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4");
    let pipeline = spanflow::pipeline!().install().expect("valid now");
    let linked: SpanContext;
    {
        let mut span = spanflow::span!("spanflow");
        span.set_attribute(KeyValue::new("text", "abcdefgh"));
        span.set_attribute(KeyValue::new("accented", "ééééééé"));
        span.set_attribute(KeyValue::new("number", 123_456_789_i64));
        span.add_event("said", vec![KeyValue::new("text", "ijklmnop")]);
        linked = span.span_context();
        Span::end(&mut span);
    }
    {
        let tracer = opentelemetry::global::tracer("api");
        let mut api = tracer
            .span_builder("api")
            .with_links(vec![Link::new(
                linked,
                vec![KeyValue::new("text", "qrstuvwx")],
                0,
            )])
            .start(&tracer);
        api.set_attribute(KeyValue::new("text", "abcdefgh"));
        api.add_event("said", vec![KeyValue::new("text", "ijklmnop")]);
        assert!(api.span_context().is_sampled());
        api.end();
    }
    pipeline.flush().expect("flushed");
    let spans = pipeline.store().expect("the in-process store").spans();

    let ours = span(&spans, "spanflow");
    assert_eq!(value(&ours.attributes, "text"), &Value::from("abcd"));
    assert_eq!(value(&ours.attributes, "accented"), &Value::from("éééé"));
    assert_eq!(value(&ours.attributes, "number"), &Value::I64(123_456_789));
    let event = &ours.events.events[0].attributes;
    assert_eq!(value(event, "text"), &Value::from("ijkl"));

    let api = span(&spans, "api");
    assert_eq!(value(&api.attributes, "text"), &Value::from("abcd"));
    assert_eq!(
        value(&api.events.events[0].attributes, "text"),
        &Value::from("ijkl")
    );
    assert_eq!(
        value(&api.links.links[0].attributes, "text"),
        &Value::from("qrst")
    );
    // The link points at the spanflow span, in the same process's trace.
    assert_eq!(
        api.links.links[0].span_context.span_id(),
        ours.span_context.span_id()
    );
}
