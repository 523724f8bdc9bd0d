//! `Pipeline::with_batch_options` batches as the code says, in place of the
//! `OTEL_BSP_*` variables, whichever builder method comes first; a count
//! of zero (or a per-thread ring too large to allocate) is refused at
//! install, naming the field; durations too long for a clock mean no
//! limit. One test, so that it alone changes this process's environment.

mod env;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use spanflow::{BatchOptions, InstallError};

/// Keeps the size of each batch.
#[derive(Clone, Debug, Default)]
struct BatchSizes(Arc<Mutex<Vec<usize>>>);

impl SpanExporter for BatchSizes {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().push(batch.len());
        Ok(())
    }
}

#[spanflow::trace]
fn request() {}

#[test]
fn batch_options_in_code_replace_the_environments() {
    env::set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4");
    // Not read: the options in code replace every OTEL_BSP_* variable.
    env::set("OTEL_BSP_SCHEDULE_DELAY", "soon");

    let zero_queue = BatchOptions::default().with_max_queue_size(0);
    match spanflow::pipeline!()
        .with_batch_exporter(BatchSizes::default())
        .with_batch_options(zero_queue)
        .install()
    {
        Err(InstallError::Config(error)) => {
            assert_eq!(error.variable, "BatchOptions::max_queue_size", "{error}");
        }
        other => panic!("a zero queue was accepted: {other:?}"),
    }
    // A per-thread ring too large to allocate is refused the same way.
    env::refused(
        spanflow::pipeline!()
            .with_queue_capacity(usize::MAX)
            .install(),
        "Pipeline::with_queue_capacity",
        &usize::MAX.to_string(),
    );

    let sizes = BatchSizes::default();
    let options = BatchOptions::default()
        .with_max_export_batch_size(3)
        // Only full batches and the flush export; an endless delay, like
        // the endless timeouts below, means no limit (it overflowed the
        // clock before).
        .with_schedule_delay(Duration::MAX);
    let pipeline = spanflow::pipeline!()
        .with_batch_exporter(sizes.clone())
        .with_batch_options(options)
        .with_shutdown_timeout(Duration::MAX)
        .install()
        .expect("valid configuration");
    for _ in 0..10 {
        request();
    }
    pipeline.flush_within(Duration::MAX).expect("flushed");
    assert_eq!(*sizes.0.lock().unwrap(), [3, 3, 3, 1]);
    let stats = pipeline.export_stats();
    assert_eq!((stats.offered, stats.exported, stats.failed), (10, 10, 0));
    pipeline.shutdown().expect("shut down");
}
