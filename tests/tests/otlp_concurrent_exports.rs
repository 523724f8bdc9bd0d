//! `OTEL_BSP_MAX_CONCURRENT_EXPORTS` has spanflow's OTLP export send that
//! many requests side by side, so that a receiver far away does not limit
//! the export to one request per round trip.

mod otlp;

use std::time::{Duration, Instant};

use spanflow_otlp_receiver::{Behaviour, OtlpReceiver};

#[spanflow::trace]
fn request() {}

/// How long a request may take; the senders must all be seen waiting well
/// before it ends, when one sender would move on to its next request.
const REQUEST_TIMEOUT_MS: u64 = 4_000;

#[test]
fn two_requests_wait_on_a_stalled_receiver_side_by_side_then_all_arrive() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        &REQUEST_TIMEOUT_MS.to_string(),
    );
    otlp::set_env("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "2");
    otlp::set_env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1");
    otlp::set_env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    receiver.set_behaviour(Behaviour::Stall);
    let pipeline = spanflow::pipeline!()
        .with_service_name("concurrent-export")
        .install()
        .expect("OTLP from the environment");

    let started = Instant::now();
    for _ in 0..4 {
        request();
    }
    let deadline = started + Duration::from_millis(REQUEST_TIMEOUT_MS * 3 / 4);
    assert_eq!(
        receiver.wait_for_held_requests(2, deadline),
        2,
        "two requests waiting side by side, no more"
    );

    // The held requests end at their timeout, which is also the whole time
    // an export may take: they fail, not retried. The two batches queued
    // behind them go to the receiver, answering again.
    receiver.set_behaviour(Behaviour::Accept);
    pipeline
        .flush_within(Duration::from_secs(30))
        .expect("exported within the deadline");
    let stats = pipeline.export_stats();
    assert_eq!((stats.offered, stats.exported, stats.failed), (4, 2, 2));
    assert_eq!(stats.retried, 0, "no time left for a retry");
    pipeline.shutdown().expect("shut down");
    let names: Vec<String> = receiver
        .spans()
        .into_iter()
        .map(|(_, span)| span.name)
        .collect();
    assert_eq!(names, ["request"; 2]);
}
