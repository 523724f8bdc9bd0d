//! A hung exporter cannot hold a flush or the shutdown past its deadline,
//! so it cannot hold the process's exit either.

use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use spanflow::{FlushTimeout, trace};

/// Never returns from `export`, like a collector that accepted the
/// connection and then stopped answering.
#[derive(Debug)]
struct Hung;

impl SpanExporter for Hung {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        loop {
            std::thread::park();
        }
    }
}

#[trace]
fn traced() {}

#[test]
fn flush_and_shutdown_return_at_their_deadline() {
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(Hung)
        .with_shutdown_timeout(Duration::from_millis(300))
        .install()
        .expect("the only pipeline of this binary");
    traced();

    let started = Instant::now();
    assert_eq!(
        pipeline.flush_within(Duration::from_millis(300)),
        Err(FlushTimeout)
    );
    // The installed provider's flush (third-party code may call it) keeps
    // the pipeline's deadline too, not a default of its own (5 s).
    let provider_flush = Instant::now();
    let flushed = pipeline
        .tracer_provider()
        .expect("a provider is installed")
        .force_flush();
    assert!(flushed.is_err(), "{flushed:?}");
    assert!(
        provider_flush.elapsed() < Duration::from_secs(3),
        "{:?}",
        provider_flush.elapsed()
    );
    assert_eq!(pipeline.shutdown(), Err(FlushTimeout));
    // Three 300 ms deadlines; the bound is loose so that a busy machine
    // passes, and tight enough that waiting on the exporter (forever)
    // cannot.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
