//! What a sampled span cannot avoid on this machine, measured piece by piece:
//! the OpenTelemetry `Context` that makes a span visible to other
//! instrumentation, the clock reads, and one atomic read-modify-write (an
//! `Arc` drop takes two).
//!
//! Run: `cargo bench -p spanflow-benches --bench floor`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::Context;
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
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = floor
}
criterion_main!(benches);
