//! What a span costs the application while its export queue is full and it
//! is dropped (and counted), beside one that is exported and the
//! OpenTelemetry SDK's batch processor in the same state. The exporters
//! stall, like a collector that is down, until the end of the run;
//! spanflow's collector exports each span itself, so that it stalls too.
//!
//! Run: `cargo bench -p spanflow-benches --bench overload`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use spanflow_benches::bench_drained;

/// Every queue in this run: spanflow's ring and the SDK's batch queue.
const QUEUE: usize = 2048;

static STALLED: AtomicBool = AtomicBool::new(false);
/// Set once spanflow's exporter is blocked, and with it the collector.
static SPANFLOW_BLOCKED: AtomicBool = AtomicBool::new(false);

/// An exporter that blocks while `STALLED` is set, saying so in its flag
/// if it has one.
#[derive(Debug)]
struct Stallable(Option<&'static AtomicBool>);

impl SpanExporter for Stallable {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        while STALLED.load(Ordering::Relaxed) {
            if let Some(blocked) = self.0 {
                blocked.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(blocked) = self.0 {
            blocked.store(false, Ordering::Relaxed);
        }
        drop(batch);
        Ok(())
    }
}

#[spanflow::trace]
fn spanflow_empty() {}

fn overload(c: &mut Criterion) {
    let spanflow = spanflow::Pipeline::new()
        .with_simple_exporter(Stallable(Some(&SPANFLOW_BLOCKED)))
        .with_queue_capacity(QUEUE)
        .install()
        .expect("one pipeline per process");
    let sdk = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(Stallable(None))
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(QUEUE)
                        .build(),
                )
                .build(),
        )
        .build();
    let tracer = sdk.tracer("anchor");

    let mut group = c.benchmark_group("overload");
    bench_drained(
        &mut group,
        "spanflow #[trace], exported (queue drained)",
        1,
        spanflow_empty,
        || spanflow.flush().expect("flush"),
    );

    STALLED.store(true, Ordering::Relaxed);
    // Fill both queues: the exporters block on their first batch, and what
    // follows waits until the queues are full. spanflow's collector takes
    // spans off the ring until its export blocks, so the ring is full for
    // good only once it has filled after that.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !SPANFLOW_BLOCKED.load(Ordering::Relaxed) {
        assert!(Instant::now() < deadline, "spanflow's export never began");
        spanflow_empty();
    }
    let dropped_before = spanflow.dropped_spans();
    while spanflow.dropped_spans() == dropped_before {
        spanflow_empty();
    }
    for _ in 0..QUEUE * 4 {
        tracer.in_span("f", |_| {});
    }
    let dropped_before = spanflow.dropped_spans();
    let mut made = 0_u64;
    group.bench_function("spanflow #[trace], queue full (dropped)", |b| {
        b.iter(|| {
            made += 1;
            spanflow_empty()
        })
    });
    group.bench_function("otel sdk in_span, batch queue full (dropped)", |b| {
        b.iter(|| tracer.in_span("f", |_| {}))
    });
    group.finish();
    // Every measured span was dropped, so the row measured the dropping path.
    assert_eq!(spanflow.dropped_spans() - dropped_before, made);

    STALLED.store(false, Ordering::Relaxed);
    let _ = sdk.shutdown();
    spanflow.flush().expect("flush after the stall");
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = overload
}
criterion_main!(benches);
