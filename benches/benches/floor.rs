//! What a sampled span cannot avoid on this machine, measured piece by piece:
//! the OpenTelemetry `Context` that makes a span visible to other
//! instrumentation, the clock reads, and one atomic read-modify-write (an
//! `Arc` drop takes two). Likewise for a W3C extract: the carrier's lookups
//! of `traceparent` and `tracestate` as a propagator makes them (through
//! `Extractor::get_all`, how a repeated header is seen), and the `Context`
//! that holds the result.
//!
//! Run: `cargo bench -p spanflow-benches --bench floor`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

fn floor(c: &mut Criterion) {
    let span_context = SpanContext::new(
        TraceId::from(5u128),
        SpanId::from(5u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let current = Context::new().with_remote_span_context(span_context.clone());
    let clock = quanta::Clock::new();
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("floor");
    group.bench_function("otel context: create, attach, detach, drop", |b| {
        b.iter(|| {
            let cx = Context::map_current(|cx| cx.with_remote_span_context(span_context.clone()));
            drop(black_box(cx.attach()));
        })
    });
    group.bench_function("otel context: clone, attach, detach (one poll)", |b| {
        b.iter(|| drop(black_box(current.clone().attach())))
    });
    group.bench_function("otel context: read the current span's flags", |b| {
        b.iter(|| Context::map_current(|cx| black_box(cx.span().span_context().is_sampled())))
    });
    group.bench_function("two TSC clock reads", |b| {
        b.iter(|| (black_box(clock.raw()), black_box(clock.raw())))
    });
    group.bench_function("one atomic fetch_add", |b| {
        b.iter(|| black_box(counter.fetch_add(1, Ordering::Relaxed)))
    });

    let map: HashMap<String, String> = [("traceparent".to_owned(), TRACEPARENT.to_owned())].into();
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", http::HeaderValue::from_static(TRACEPARENT));
    group.bench_function("carrier lookups: HashMap (OpenTelemetry's impl)", |b| {
        b.iter(|| lookups(black_box(&map)))
    });
    group.bench_function("carrier lookups: HashMap (spanflow's StringMap)", |b| {
        b.iter(|| lookups(&spanflow::propagation::StringMap(black_box(&map))))
    });
    group.bench_function("carrier lookups: HeaderMap (spanflow-http)", |b| {
        b.iter(|| lookups(&spanflow_http::Headers(black_box(&headers))))
    });
    group.bench_function(
        "otel context: from an extracted span context, dropped",
        |b| {
            b.iter(|| {
                black_box(Context::new().with_remote_span_context(black_box(span_context.clone())))
            })
        },
    );
    group.finish();
}

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The two lookups a W3C extract makes, and nothing else.
fn lookups(carrier: &dyn Extractor) {
    black_box(carrier.get_all("traceparent"));
    black_box(carrier.get_all("tracestate"));
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = floor
}
criterion_main!(benches);
