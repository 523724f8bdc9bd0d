//! `OTEL_PROPAGATORS` chooses what the installed global propagator writes:
//! with `baggage` alone, outgoing requests carry baggage and no
//! `traceparent`; a propagator spanflow does not have is an error naming the
//! variable. One test, so that it alone changes this process's environment.

mod env;

use std::collections::HashMap;

use env::{refused, set};
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use spanflow::trace;

#[trace]
fn outgoing_headers() -> HashMap<String, String> {
    let cx = opentelemetry::Context::current().with_baggage([KeyValue::new("tenant", "acme")]);
    let mut headers = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut headers)
    });
    headers
}

#[test]
fn the_global_propagator_is_the_one_otel_propagators_names() {
    set("SPANFLOW_EXPORT", "none");

    set("OTEL_PROPAGATORS", "tracecontext,jaeger");
    let error = refused(
        spanflow::pipeline!().install(),
        "OTEL_PROPAGATORS",
        "tracecontext,jaeger",
    );
    assert!(error.reason.contains("`jaeger`"), "{error}");

    set("OTEL_PROPAGATORS", "baggage");
    let _pipeline = spanflow::pipeline!().install().expect("valid now");
    let headers = outgoing_headers();
    assert_eq!(
        headers.get("baggage").map(String::as_str),
        Some("tenant=acme")
    );
    assert!(
        !headers.contains_key("traceparent"),
        "no Trace Context propagator: {headers:?}"
    );

    // Read back the same way: the baggage, and no parent from a traceparent.
    let received = HashMap::from([
        (
            "traceparent".to_owned(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        ),
        ("baggage".to_owned(), "tenant=acme".to_owned()),
    ]);
    let parent = spanflow::propagation::Extracted::from_carrier(
        &opentelemetry::Context::new(),
        &spanflow::propagation::StringMap(&received),
    );
    assert!(!parent.span_context().is_valid());
    assert_eq!(
        parent.into_context().baggage().get("tenant"),
        Some(&"acme".into())
    );
}
