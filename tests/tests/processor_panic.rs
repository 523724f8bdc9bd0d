//! A span processor that panics on the collector thread loses the span it
//! was given, not the pipeline: later spans are exported and flushes answer
//! at once instead of timing out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// Panics on the first span it is given; keeps the names of the others.
#[derive(Clone, Debug, Default)]
struct PanicsOnce(Arc<Mutex<Option<Vec<String>>>>);

impl SpanProcessor for PanicsOnce {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut seen = self.0.lock().unwrap();
        match seen.as_mut() {
            Some(names) => names.push(span.name.into_owned()),
            None => {
                *seen = Some(Vec::new());
                drop(seen);
                panic!("a processor bug");
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

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
    assert_eq!(
        processor.0.lock().unwrap().clone(),
        Some(vec!["second".to_owned()])
    );
    assert_eq!(pipeline.collected_spans(), 2);
}
