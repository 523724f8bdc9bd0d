//! The cost of instrumentation when nothing is installed, side by side:
//! spanflow with no pipeline, OpenTelemetry's global no-op tracer, tracing
//! without a subscriber, fastrace without a parent.
//!
//! Run: `cargo bench -p spanflow-benches --bench disabled`

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::Tracer;

#[spanflow::trace]
fn spanflow_empty() {}

#[tracing::instrument]
fn tracing_empty() {}

#[fastrace::trace]
fn fastrace_empty() {}

fn disabled(c: &mut Criterion) {
    let mut group = c.benchmark_group("disabled");
    group.bench_function("spanflow #[trace], nothing installed", |b| {
        b.iter(spanflow_empty)
    });
    group.bench_function("otel global no-op tracer", |b| {
        b.iter(|| opentelemetry::global::tracer("anchor").in_span("f", |_| {}))
    });
    group.bench_function("tracing, no subscriber", |b| b.iter(tracing_empty));
    group.bench_function("fastrace, no parent", |b| b.iter(fastrace_empty));
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = disabled
}
criterion_main!(benches);
