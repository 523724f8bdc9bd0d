//! An exporter given to `with_batch_exporter` is batched as the `OTEL_BSP_*`
//! variables say, and what each export returned is counted. One test, so
//! that it alone changes this process's environment.

mod env;

use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Keeps the names of each batch's spans.
#[derive(Clone, Debug, Default)]
struct Batches(Arc<Mutex<Vec<Vec<String>>>>);

impl SpanExporter for Batches {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let names = batch.iter().map(|span| span.name.to_string()).collect();
        self.0.lock().unwrap().push(names);
        Ok(())
    }
}

#[spanflow::trace]
fn request() {
    step();
}

#[spanflow::trace]
fn step() {}

#[test]
fn bsp_variables_size_the_batches_of_an_exporter_given_in_code() {
    env::set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4");
    // Long enough that only full batches and the flush export.
    env::set("OTEL_BSP_SCHEDULE_DELAY", "600000");
    let batches = Batches::default();
    let pipeline = spanflow::pipeline!()
        .with_batch_exporter(batches.clone())
        .install()
        .expect("valid configuration");

    for _ in 0..5 {
        request();
    }
    pipeline.flush().expect("flushed");

    let sizes: Vec<usize> = batches.0.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 4, 2], "10 spans in batches of at most 4");
    let names = batches.0.lock().unwrap().concat();
    assert_eq!(names.iter().filter(|name| *name == "request").count(), 5);
    assert_eq!(names.iter().filter(|name| *name == "step").count(), 5);
    let stats = pipeline.export_stats();
    assert_eq!((stats.offered, stats.exported, stats.failed), (10, 10, 0));
}
