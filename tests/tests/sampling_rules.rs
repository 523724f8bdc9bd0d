//! Head-sampling rules: by span name for spanflow spans, by attribute for
//! spans made through the OpenTelemetry API, the pipeline's sampler for
//! the rest.

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::{Sampler, SamplingRules, trace};

#[trace]
fn checkout() -> bool {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
}

#[trace]
fn health() -> bool {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
}

#[trace]
fn other() -> bool {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
}

#[test]
fn the_first_matching_rule_decides_and_the_sampler_takes_the_rest() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampler(Sampler::AlwaysOff)
        .with_sampling_rules(
            SamplingRules::new()
                .name("checkout", Sampler::AlwaysOn)
                .name("health", Sampler::AlwaysOff)
                .attribute("tenant", "vip", Sampler::AlwaysOn),
        )
        .install()
        .expect("the only pipeline of this binary");

    assert!((0..100).all(|_| checkout()), "always");
    assert!((0..100).all(|_| !health()), "never");
    assert!((0..100).all(|_| !other()), "the sampler: off");

    let tracer = opentelemetry::global::tracer("api");
    let vip = tracer
        .span_builder("query")
        .with_attributes([KeyValue::new("tenant", "vip")])
        .start(&tracer);
    let plain = tracer
        .span_builder("query")
        .with_attributes([KeyValue::new("tenant", "acme")])
        .start(&tracer);
    assert!(vip.span_context().is_sampled());
    assert!(!plain.span_context().is_sampled());
    drop((vip, plain));

    // Children follow their root, whatever their own name.
    let mut root = spanflow::span!("checkout");
    assert!(root.is_recording());
    root.in_scope(|| assert!(other(), "a child of a kept root is kept"));
    drop(root);

    pipeline.flush().unwrap();
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.into_owned())
        .collect();
    assert_eq!(names.iter().filter(|name| *name == "checkout").count(), 101);
    assert_eq!(names.iter().filter(|name| *name == "other").count(), 1);
    assert_eq!(names.iter().filter(|name| *name == "query").count(), 1);
    assert!(!names.iter().any(|name| name == "health"));
}
