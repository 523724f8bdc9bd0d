//! The OTLP receiver stalled, failing, or stopped: traced requests do not
//! slow down, memory stays bounded, and export resumes when the receiver
//! is back (restarted on the same ports).

mod otlp;

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use spanflow::trace;
use spanflow_otlp_receiver::{Behaviour, OtlpReceiver, string_attribute};

#[trace(kind = server)]
fn request() {
    work();
}

#[trace]
fn work() {}

/// Resident memory, from /proc (Linux).
fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Runs `count` traced requests; the 99th percentile of their durations.
fn p99_of_requests(count: usize) -> Duration {
    let mut took: Vec<Duration> = (0..count)
        .map(|_| {
            let start = Instant::now();
            request();
            start.elapsed()
        })
        .collect();
    took.sort_unstable();
    took[count * 99 / 100]
}

/// Keeps making spans marked `marker`, as live traffic does, until one
/// reaches `receiver` (at most 30 s): while the export queue is full of
/// older spans, new ones are dropped, so a single marker may never arrive.
fn arrives(receiver: &OtlpReceiver, marker: &'static str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        marked(marker);
        let found = receiver.spans().iter().any(|(_, span)| {
            string_attribute(&span.attributes, "phase").as_deref() == Some(marker)
        });
        if found {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn marked(marker: &'static str) {
    let mut span = spanflow::span!("marker");
    span.set_attribute(KeyValue::new("phase", marker));
}

#[test]
fn export_faults_never_block_requests_and_export_resumes() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    let addresses = receiver.addresses();
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    otlp::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "200");
    otlp::set_env("OTEL_BSP_SCHEDULE_DELAY", "20");
    otlp::set_env("OTEL_BSP_MAX_QUEUE_SIZE", "2048");
    let pipeline = spanflow::pipeline!()
        .with_service_name("faults")
        .install()
        .expect("OTLP from the environment");

    let healthy = p99_of_requests(20_000);
    assert!(arrives(&receiver, "healthy"), "export works to begin with");

    let mut receiver = Some(receiver);
    for fault in ["stalled", "failing", "stopped"] {
        match fault {
            "stalled" => receiver.as_ref().unwrap().set_behaviour(Behaviour::Stall),
            "failing" => {
                // A fresh receiver: the stalled one still holds connections.
                drop(receiver.take());
                let failing = OtlpReceiver::start_at(addresses.0, addresses.1).expect("restarted");
                failing.set_behaviour(Behaviour::Fail);
                receiver = Some(failing);
            }
            _ => drop(receiver.take()),
        }
        let before = resident_kib();
        let under_fault = p99_of_requests(100_000);
        let grown_mib = resident_kib().saturating_sub(before) / 1024;
        eprintln!("{fault}: p99 {under_fault:?} (healthy {healthy:?}), resident +{grown_mib} MiB");
        // Spans are handed off, never exported on the request's thread: a
        // request waiting on the 200 ms export timeout would show here.
        assert!(
            under_fault < Duration::from_millis(20),
            "{fault}: p99 {under_fault:?}"
        );
        // 200,000 spans made; the queues hold a few thousand.
        assert!(
            grown_mib < 64,
            "{fault}: resident memory grew {grown_mib} MiB"
        );
    }

    let back = OtlpReceiver::start_at(addresses.0, addresses.1).expect("restarted");
    assert!(
        arrives(&back, "after"),
        "export resumes when the receiver is back"
    );

    // What happened is counted: the batches in flight during the faults
    // failed (the 200 ms request timeout bounds each export, retries
    // included, and the first retry would wait about a second), and (after
    // a flush, when nothing is queued) what the full batch queue dropped
    // meanwhile.
    pipeline
        .flush()
        .expect("flushed to the receiver that is back");
    let stats = pipeline.export_stats();
    eprintln!(
        "{stats:?}, dropped by the batch queue: {}",
        stats.unaccounted()
    );
    assert!(stats.failed > 0, "{stats:?}");
    assert_eq!(stats.retried, 0, "{stats:?}");
    assert_eq!(
        stats.exported + stats.failed + stats.unaccounted(),
        stats.offered,
        "every span accounted for: {stats:?}"
    );
    assert!(
        stats.unaccounted() > 0,
        "600,000 spans against a 2,048-span queue: {stats:?}"
    );
    assert!(stats.exported > 0, "{stats:?}");
    drop(pipeline);
}
