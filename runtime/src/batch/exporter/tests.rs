//! The batch processor for any `SpanExporter`: batch sizes, the schedule,
//! a full queue, failed exports, and the exporter's own flush, resource
//! and shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};

use super::ExporterBatch;
use crate::batch::BatchOptions;
use crate::export::trace::tests::span;
use crate::export_accounting::{ExportCounters, ExportStats};

/// Records what it is given; its exports wait while it is held, and fail
/// while it is failing.
#[derive(Clone, Debug, Default)]
struct Recording {
    batches: Arc<Mutex<Vec<Vec<u64>>>>,
    held: Arc<(Mutex<bool>, Condvar)>,
    /// Exports begun so far.
    entered: Arc<(Mutex<usize>, Condvar)>,
    failing: Arc<Mutex<bool>>,
    /// Exports left that panic.
    panics: Arc<AtomicUsize>,
    /// Exports left that stay pending forever.
    stuck: Arc<AtomicUsize>,
    flushes: Arc<AtomicUsize>,
    shutdowns: Arc<AtomicUsize>,
    service: Arc<Mutex<Option<String>>>,
}

impl Recording {
    fn hold(&self, held: bool) {
        *self.held.0.lock().unwrap() = held;
        self.held.1.notify_all();
    }

    /// Waits (at most 10 s) until `count` exports have begun.
    fn wait_for_exports(&self, count: usize) {
        let (entered, changed) = &*self.entered;
        let entered = entered.lock().unwrap();
        let (entered, _) = changed
            .wait_timeout_while(entered, Duration::from_secs(10), |entered| *entered < count)
            .unwrap();
        assert!(*entered >= count, "{} of {count} exports begun", *entered);
    }

    fn batches(&self) -> Vec<Vec<u64>> {
        self.batches.lock().unwrap().clone()
    }
}

impl SpanExporter for Recording {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        *self.entered.0.lock().unwrap() += 1;
        self.entered.1.notify_all();
        if take_one(&self.stuck) {
            std::future::pending::<()>().await;
        }
        let (held, released) = &*self.held;
        let mut waiting = held.lock().unwrap();
        while *waiting {
            waiting = released.wait(waiting).unwrap();
        }
        drop(waiting);
        let ids = batch
            .iter()
            .map(|span| u64::from_be_bytes(span.span_context.span_id().to_bytes()))
            .collect();
        self.batches.lock().unwrap().push(ids);
        if take_one(&self.panics) {
            panic!("an exporter bug");
        }
        if *self.failing.lock().unwrap() {
            return Err(OTelSdkError::InternalFailure("the backend is down".into()));
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.service.lock().unwrap() = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|name| name.to_string());
    }
}

/// Counts one off `left`, if any is left.
fn take_one(left: &AtomicUsize) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
        left.checked_sub(1)
    })
    .is_ok()
}

fn options(batch: usize, queue: usize, delay: Duration) -> BatchOptions {
    BatchOptions {
        schedule_delay: delay,
        export_timeout: Duration::from_secs(30),
        max_queue_size: queue,
        max_export_batch_size: batch,
        max_concurrent_exports: 1,
    }
}

fn start(
    exporter: &Recording,
    options: BatchOptions,
) -> (ExporterBatch<Recording>, Arc<ExportCounters>) {
    let counters = Arc::new(ExportCounters::default());
    let processor =
        ExporterBatch::start(exporter.clone(), options, &counters).expect("export thread");
    (processor, counters)
}

fn end_spans(processor: &ExporterBatch<Recording>, ids: std::ops::RangeInclusive<u64>) {
    for id in ids {
        processor.on_end(span(1, id, 0));
    }
}

fn stats(offered: u64, exported: u64, failed: u64) -> ExportStats {
    ExportStats {
        offered,
        exported,
        failed,
        ..ExportStats::default()
    }
}

#[test]
fn full_batches_leave_as_they_fill_and_a_flush_sends_the_rest_in_order() {
    let exporter = Recording::default();
    let (processor, counters) = start(&exporter, options(3, 100, Duration::from_secs(60)));
    end_spans(&processor, 1..=7);
    processor.force_flush().expect("flushed");
    assert_eq!(exporter.batches(), [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    assert_eq!(counters.snapshot(), stats(7, 7, 0));
    assert_eq!(
        exporter.flushes.load(Ordering::SeqCst),
        1,
        "the exporter's own flush follows the batches"
    );
    processor.force_flush().expect("nothing left");
    assert_eq!(
        exporter.batches().len(),
        3,
        "an empty flush exports nothing"
    );
}

#[test]
fn a_partial_batch_leaves_after_the_schedule_delay_without_a_flush() {
    let exporter = Recording::default();
    let (processor, counters) = start(&exporter, options(100, 100, Duration::from_millis(20)));
    end_spans(&processor, 1..=2);
    // The behaviour under test is the timer, so wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    while exporter.batches().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(exporter.batches(), [vec![1, 2]]);
    assert_eq!(counters.snapshot(), stats(2, 2, 0));
}

#[test]
fn a_full_queue_drops_whole_batches_and_counts_them_as_unaccounted() {
    let exporter = Recording::default();
    exporter.hold(true);
    // Batches of 2, at most 4 spans queued: while the exporter is held
    // with the first batch, two more fit and the rest are dropped.
    let (processor, counters) = start(&exporter, options(2, 4, Duration::from_secs(60)));
    end_spans(&processor, 1..=2);
    exporter.wait_for_exports(1);
    end_spans(&processor, 3..=12);
    exporter.hold(false);
    processor.force_flush().expect("flushed");
    let exported: Vec<u64> = exporter.batches().concat();
    assert_eq!(exported, [1, 2, 3, 4, 5, 6], "{:?}", exporter.batches());
    let stats = counters.snapshot();
    assert_eq!(stats, self::stats(12, 6, 0));
    assert_eq!(stats.unaccounted(), 6);
}

#[test]
fn failed_exports_are_counted_as_failed() {
    let exporter = Recording::default();
    *exporter.failing.lock().unwrap() = true;
    let (processor, counters) = start(&exporter, options(2, 100, Duration::from_secs(60)));
    end_spans(&processor, 1..=3);
    processor
        .force_flush()
        .expect("a flush waits; it does not fail with the exports");
    assert_eq!(counters.snapshot(), stats(3, 0, 3));
}

#[test]
fn an_exporter_that_panics_fails_that_batch_and_the_next_ones_export() {
    let exporter = Recording::default();
    exporter.panics.store(1, Ordering::SeqCst);
    let (processor, counters) = start(&exporter, options(2, 100, Duration::from_secs(60)));
    end_spans(&processor, 1..=5);
    processor
        .force_flush()
        .expect("answered, not left to time out");
    assert_eq!(exporter.batches(), [vec![1, 2], vec![3, 4], vec![5]]);
    assert_eq!(counters.snapshot(), stats(5, 3, 2));
}

#[test]
fn an_export_still_pending_at_the_export_timeout_fails_that_batch_and_the_next_ones_export() {
    let exporter = Recording::default();
    exporter.stuck.store(1, Ordering::SeqCst);
    let options = BatchOptions {
        export_timeout: Duration::from_millis(100),
        ..options(2, 100, Duration::from_secs(60))
    };
    let (processor, counters) = start(&exporter, options);
    end_spans(&processor, 1..=4);
    // The second export begins once the first is given up.
    exporter.wait_for_exports(2);
    processor.force_flush().expect("flushed");
    assert_eq!(exporter.batches(), [vec![3, 4]]);
    assert_eq!(counters.snapshot(), stats(4, 2, 2));
}

#[test]
fn a_large_batch_size_is_not_allocated_up_front() {
    let exporter = Recording::default();
    let (processor, _) = start(
        &exporter,
        options(1_000_000, 2_000_000, Duration::from_secs(60)),
    );
    assert!(processor.shared.building.lock().unwrap().capacity() <= 512);
    end_spans(&processor, 1..=3);
    processor.force_flush().expect("flushed");
    assert_eq!(exporter.batches(), [vec![1, 2, 3]]);
}

#[test]
fn the_exporter_gets_the_resource_and_one_shutdown_after_the_last_batch() {
    let exporter = Recording::default();
    let (mut processor, counters) = start(&exporter, options(10, 100, Duration::from_secs(60)));
    processor.set_resource(
        &Resource::builder_empty()
            .with_attribute(KeyValue::new("service.name", "checkout"))
            .build(),
    );
    assert_eq!(
        exporter.service.lock().unwrap().as_deref(),
        Some("checkout")
    );
    end_spans(&processor, 1..=3);
    processor
        .shutdown_with_timeout(Duration::from_secs(30))
        .expect("shut down in time");
    assert_eq!(exporter.batches(), [vec![1, 2, 3]]);
    assert_eq!(exporter.shutdowns.load(Ordering::SeqCst), 1);
    end_spans(&processor, 4..=4);
    processor
        .force_flush()
        .expect("nothing to flush after shutdown");
    assert_eq!(
        exporter.batches().len(),
        1,
        "nothing exported after shutdown"
    );
    assert_eq!(counters.snapshot().exported, 3);
}
