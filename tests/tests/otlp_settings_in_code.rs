//! OTLP request settings given in code (`OtlpTarget::with_header`,
//! `with_timeout`, `with_compression`, on the target
//! `OtlpTarget::from_env` reads) win over the environment's, one by one:
//! headers of other names and unset settings still come from it.
//! Batch options given in code (`Pipeline::with_batch_options`) size the
//! requests.

mod otlp;

use std::time::{Duration, Instant};

use spanflow::BatchOptions;
use spanflow::otlp::{Compression, OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::{Behaviour, OtlpReceiver};

#[spanflow::trace]
fn request() {}

#[test]
fn headers_timeout_and_compression_from_code_win_over_the_environment() {
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x-tenant=from-env,x-region=eu",
    );
    otlp::set_env("OTEL_EXPORTER_OTLP_COMPRESSION", "none");
    // A stalled request would hold the export a minute by this.
    otlp::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "60000");
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    // The environment's endpoint, with settings added in code.
    let target = OtlpTarget::from_env()
        .expect("valid OTLP variables")
        .expect("an endpoint is set");
    assert_eq!(target.protocol, OtlpProtocol::HttpProtobuf);
    let target = target
        .with_header("X-Tenant", "from-code")
        .with_header("x-api-key", "key one")
        .with_compression(Compression::Gzip)
        .with_timeout(Duration::from_secs(1));
    let pipeline = spanflow::pipeline!()
        .with_service_name("settings-in-code")
        .with_otlp(target)
        .with_batch_options(
            BatchOptions::from_env()
                .expect("no OTEL_BSP_* set")
                .with_max_export_batch_size(2)
                .with_schedule_delay(Duration::from_secs(600)),
        )
        .install()
        .expect("OTLP given in code");

    for _ in 0..3 {
        request();
    }
    pipeline.flush().expect("exported");
    let sizes: Vec<usize> = receiver
        .received()
        .iter()
        .map(|received| {
            received.request.resource_spans[0]
                .scope_spans
                .iter()
                .map(|scope| scope.spans.len())
                .sum()
        })
        .collect();
    assert_eq!(sizes, [2, 1], "a full batch of 2, then the flush");
    otlp::assert_every_request_had_header(&receiver, "x-tenant", "from-code");
    otlp::assert_every_request_had_header(&receiver, "x-region", "eu");
    otlp::assert_every_request_had_header(&receiver, "x-api-key", "key one");
    otlp::assert_every_request_had_header(&receiver, "content-encoding", "gzip");
    assert_eq!(receiver.spans().len(), 3);

    // The export's time is the code's second, not the environment's
    // minute: the stalled request fails then, too soon for a retry.
    receiver.set_behaviour(Behaviour::Stall);
    let started = Instant::now();
    request();
    pipeline
        .flush_within(Duration::from_secs(30))
        .expect("the flush sees the request fail");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let stats = pipeline.export_stats();
    assert_eq!(
        (stats.offered, stats.exported, stats.failed, stats.retried),
        (4, 3, 1, 0)
    );
    assert_eq!(receiver.held_requests(), 1);
    pipeline.shutdown().expect("shut down");
}
