//! W3C `traceparent` inject and extract: spanflow's propagator against the
//! OpenTelemetry SDK's, for a `HashMap` carrier and an `http::HeaderMap`
//! carrier (through opentelemetry-http's injector and extractor). Then
//! Zipkin B3 (`OTEL_PROPAGATORS=b3` / `b3multi`): spanflow's wrapper against
//! the opentelemetry-propagator-b3 propagator it wraps.
//!
//! Run: `cargo bench -p spanflow-benches --bench propagation`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use spanflow::propagation::StringMap;
use spanflow_benches::{TRACEPARENT, traceparent_context};
use spanflow_http::{Headers, HeadersMut};

fn propagation(c: &mut Criterion) {
    let spanflow = spanflow::propagation::TraceContextPropagator::new();
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let propagators: [(&str, &dyn TextMapPropagator); 2] =
        [("spanflow", &spanflow), ("otel sdk", &sdk)];

    let cx = traceparent_context();
    let map: HashMap<String, String> = [("traceparent".to_owned(), TRACEPARENT.to_owned())].into();
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", TRACEPARENT.parse().unwrap());

    let mut group = c.benchmark_group("traceparent");
    for (name, propagator) in propagators {
        // An outgoing request's header map exists already: reuse one.
        let mut map_carrier = HashMap::with_capacity(4);
        group.bench_function(format!("{name} inject HashMap"), |b| {
            b.iter(|| {
                map_carrier.clear();
                propagator.inject_context(&cx, &mut map_carrier);
                black_box(&map_carrier);
            })
        });
        let mut header_carrier = HeaderMap::with_capacity(4);
        group.bench_function(format!("{name} inject HeaderMap"), |b| {
            b.iter(|| {
                header_carrier.clear();
                propagator.inject_context(&cx, &mut HeaderInjector(&mut header_carrier));
                black_box(&header_carrier);
            })
        });
        group.bench_function(format!("{name} extract HashMap"), |b| {
            b.iter(|| black_box(propagator.extract_with_context(&Context::new(), &map)))
        });
        group.bench_function(format!("{name} extract HeaderMap"), |b| {
            b.iter(|| {
                black_box(
                    propagator.extract_with_context(&Context::new(), &HeaderExtractor(&headers)),
                )
            })
        });
    }
    // What a server adapter needs before it starts its span (the span
    // creates the Context): no Context allocated and dropped here.
    group.bench_function("spanflow extract_span_context HashMap", |b| {
        b.iter(|| black_box(spanflow.extract_span_context(&map)))
    });
    group.bench_function("spanflow extract_span_context HeaderMap", |b| {
        b.iter(|| black_box(spanflow.extract_span_context(&HeaderExtractor(&headers))))
    });
    // spanflow-http's carriers (what its layers use) in place of
    // opentelemetry-http's: prebuilt header names, no copy of the value.
    let mut header_carrier = HeaderMap::with_capacity(4);
    group.bench_function("spanflow inject HeaderMap (spanflow-http carrier)", |b| {
        b.iter(|| {
            header_carrier.clear();
            spanflow.inject_context(&cx, &mut HeadersMut(&mut header_carrier));
            black_box(&header_carrier);
        })
    });
    group.bench_function("spanflow extract HeaderMap (spanflow-http carrier)", |b| {
        b.iter(|| black_box(spanflow.extract_with_context(&Context::new(), &Headers(&headers))))
    });
    group.bench_function(
        "spanflow extract_span_context HeaderMap (spanflow-http carrier)",
        |b| b.iter(|| black_box(spanflow.extract_span_context(&Headers(&headers)))),
    );
    // spanflow's HashMap carrier: no lowercase copy of each key looked up.
    group.bench_function("spanflow extract HashMap (StringMap carrier)", |b| {
        b.iter(|| black_box(spanflow.extract_with_context(&Context::new(), &StringMap(&map))))
    });
    group.bench_function(
        "spanflow extract_span_context HashMap (StringMap carrier)",
        |b| b.iter(|| black_box(spanflow.extract_span_context(&StringMap(&map)))),
    );
    // The same carriers giving the traceparent's only line instead of
    // collecting its lines in `get_all`'s list (what the adapters' server
    // spans and the Kafka consumer read through
    // `Extracted::from_single_line`).
    group.bench_function(
        "spanflow extract_span_context_single_line HeaderMap (spanflow-http carrier)",
        |b| b.iter(|| black_box(spanflow.extract_span_context_single_line(&Headers(&headers)))),
    );
    group.bench_function(
        "spanflow extract_span_context_single_line HashMap (StringMap carrier)",
        |b| b.iter(|| black_box(spanflow.extract_span_context_single_line(&StringMap(&map)))),
    );
    group.finish();
}

fn b3(c: &mut Criterion) {
    use opentelemetry_propagator_b3::{B3Encoding, Propagator};
    use spanflow::propagation::B3Propagator;
    let cx = traceparent_context();
    let mut group = c.benchmark_group("b3");
    let cases: [(&str, Box<dyn TextMapPropagator>, &str); 4] = [
        (
            "spanflow single",
            Box::new(B3Propagator::single_header()),
            "b3",
        ),
        (
            "opentelemetry-propagator-b3 single",
            Box::new(Propagator::with_encoding(B3Encoding::SingleHeader)),
            "b3",
        ),
        (
            "spanflow multi",
            Box::new(B3Propagator::multiple_headers()),
            "multi",
        ),
        (
            "opentelemetry-propagator-b3 multi",
            Box::new(Propagator::with_encoding(B3Encoding::MultipleHeader)),
            "multi",
        ),
    ];
    for (name, propagator, form) in cases {
        // What each propagator writes for a sampled span is what it reads.
        let mut incoming = HashMap::with_capacity(4);
        propagator.inject_context(&cx, &mut incoming);
        assert!(incoming.contains_key(if form == "b3" { "b3" } else { "x-b3-traceid" }));
        let mut carrier = HashMap::with_capacity(4);
        group.bench_function(format!("{name} inject HashMap"), |b| {
            b.iter(|| {
                carrier.clear();
                propagator.inject_context(&cx, &mut carrier);
                black_box(&carrier);
            })
        });
        group.bench_function(format!("{name} extract HashMap"), |b| {
            b.iter(|| black_box(propagator.extract_with_context(&Context::new(), &incoming)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = propagation, b3
}
criterion_main!(benches);
