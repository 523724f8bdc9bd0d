//! A span processor that panics on the collector thread loses the span it
//! was given, not the pipeline: later spans are exported and flushes answer
//! at once instead of timing out.

mod faulty;

use std::time::{Duration, Instant};

use faulty::PanicsOnce;

#[spanflow::trace]
fn first() {}

#[spanflow::trace]
fn second() {}

#[test]
fn a_panicking_processor_loses_its_span_and_the_pipeline_goes_on() {
    let processor = PanicsOnce::default();
    let pipeline = spanflow::Pipeline::new()
        .with_span_processor(processor.clone())
        .install()
        .expect("installed once per process");

    first();
    pipeline
        .flush_within(Duration::from_secs(10))
        .expect("answered after the panic");
    second();
    let started = Instant::now();
    pipeline
        .flush_within(Duration::from_secs(10))
        .expect("the collector still drains");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a flush answered by a live collector, not by its timeout"
    );
    assert!(processor.panicked());
    assert_eq!(processor.names(), ["second"]);
    assert_eq!(pipeline.collected_spans(), 2);
}
