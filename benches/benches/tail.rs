//! Throughput of the tail sampler: traces of 50 spans through
//! `spanflow::tail::TailSampler` with the seed's policy set (errors,
//! warnings, over 1 s, 0.1% of the rest) into a processor that discards,
//! on one thread. Spans are built outside the timing.
//!
//! Run: `cargo bench -p spanflow-benches --bench tail`

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_sdk::trace::SpanProcessor;
use spanflow::tail::{Policy, TailSampler};
use spanflow_benches::{DiscardProcessor, ended_traces};

const SPANS_PER_TRACE: u64 = 50;
const TRACES_PER_BATCH: u64 = 200;

fn tail(c: &mut Criterion) {
    let sampler = TailSampler::builder(Policy::any_of([
        Policy::errors(),
        Policy::warnings(),
        Policy::latency_over(Duration::from_secs(1)),
        Policy::probability(0.001),
    ]))
    .with_straggler_wait(Duration::ZERO)
    .build(DiscardProcessor);
    let mut next_trace = 1u128;
    let mut group = c.benchmark_group("tail_sampler");
    group.throughput(Throughput::Elements(TRACES_PER_BATCH * SPANS_PER_TRACE));
    group.bench_function("seed policies, 50 spans per trace", |b| {
        b.iter_batched(
            || ended_traces(&mut next_trace, TRACES_PER_BATCH, SPANS_PER_TRACE),
            |spans| {
                for span in spans {
                    sampler.on_end(span);
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = tail
}
criterion_main!(benches);
