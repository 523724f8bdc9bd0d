//! `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` / `_EVENT_` / `_LINK_` and
//! `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`: a spanflow span keeps that many of
//! what it is given and counts the rest as dropped, as
//! the SDK's spans do; a value that is not a whole number is an error naming
//! the variable. One test, so that it alone changes this process's
//! environment.

mod env;

use env::{refused, set};
use opentelemetry::KeyValue;
use spanflow::Span;

#[test]
fn spans_keep_what_the_limits_allow_and_count_the_rest() {
    set("SPANFLOW_EXPORT", "memory");
    set("OTEL_SPAN_EVENT_COUNT_LIMIT", "two");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "two",
    );

    set("OTEL_SPAN_EVENT_COUNT_LIMIT", "2");
    set("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3");
    set("OTEL_SPAN_LINK_COUNT_LIMIT", "0");
    set("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1");
    let pipeline = spanflow::pipeline!().install().expect("valid now");
    {
        let mut span = spanflow::span!("limited");
        for n in 0..10 {
            span.set_attribute(KeyValue::new(format!("given.{n}"), n));
            let attributes = vec![KeyValue::new("kept", n), KeyValue::new("cut", n)];
            span.add_event(format!("event {n}"), attributes);
        }
        let other = spanflow::span!("other");
        span.add_link(other.span_context());
        drop(other);
        Span::end(&mut span);
    }
    pipeline.flush().expect("flushed");
    let spans = pipeline.store().expect("the in-process store").spans();
    let limited = spans
        .iter()
        .find(|span| span.name == "limited")
        .expect("the span was recorded");
    let given = limited
        .attributes
        .iter()
        .filter(|attribute| attribute.key.as_str().starts_with("given."))
        .count();
    assert_eq!(given, 3);
    assert_eq!(limited.dropped_attributes_count, 7);
    let events: Vec<_> = limited.events.iter().map(|event| &event.name).collect();
    assert_eq!(events, ["event 0", "event 1"]);
    assert_eq!(limited.events.dropped_count, 8);
    for event in limited.events.iter() {
        let keys: Vec<_> = event.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["kept"]);
        assert_eq!(event.dropped_attributes_count, 1);
    }
    assert!(limited.links.is_empty());
    assert_eq!(limited.links.dropped_count, 1);
}
