//! The OTLP processor against the real receiver, over both protocols:
//! batches, flushes, partial success, a stalled receiver, shutdown.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};
use spanflow_otlp_receiver::{Behaviour, OtlpReceiver, THROTTLE_DELAY};

use super::OtlpProcessor;
use crate::batch::BatchOptions;
use crate::export_accounting::ExportCounters;
use crate::otlp::options::{Compression, RequestOptions};
use crate::otlp::{OtlpProtocol, OtlpTarget, Retry};

fn span(index: u64, scope: &str) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(u128::from(index) + 1),
            SpanId::from(index + 1),
            TraceFlags::SAMPLED,
            false,
            Default::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Owned(format!("span {index}")),
        start_time: SystemTime::now(),
        end_time: SystemTime::now(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder(scope.to_owned()).build(),
    }
}

fn processor(
    receiver: &OtlpReceiver,
    protocol: OtlpProtocol,
    batch: BatchOptions,
    timeout: Duration,
    retry: Retry,
) -> (OtlpProcessor, Arc<ExportCounters>) {
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let counters = Arc::new(ExportCounters::default());
    let request = RequestOptions {
        headers: vec![("x-tenant".into(), "blue".into())],
        timeout,
        compression: Compression::None,
    };
    let target = OtlpTarget::new(&endpoint, protocol)
        .expect("loopback URL")
        .with_retry(retry);
    let mut processor =
        OtlpProcessor::start(&target, request, batch, &counters).expect("client set up");
    processor.set_resource(
        &Resource::builder_empty()
            .with_attribute(opentelemetry::KeyValue::new("service.name", "batch-test"))
            .build(),
    );
    (processor, counters)
}

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpProtobuf,
    OtlpProtocol::HttpJson,
];

#[test]
fn full_batches_and_flushes_reach_the_receiver_grouped_by_scope() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let batch = BatchOptions {
            max_export_batch_size: 10,
            schedule_delay: Duration::from_secs(3600),
            ..BatchOptions::default()
        };
        let (processor, counters) = processor(
            &receiver,
            protocol,
            batch,
            Duration::from_secs(10),
            Retry::none(),
        );
        for index in 0..25 {
            processor.on_end(span(index, if index % 2 == 0 { "even" } else { "odd" }));
        }
        processor.force_flush().expect("flushed");

        let received = receiver.received();
        // Two full batches of 10, then the flush sends the last 5.
        let sizes: Vec<usize> = received
            .iter()
            .map(|request| {
                let resource_spans = &request.request.resource_spans;
                assert_eq!(resource_spans.len(), 1);
                let scopes: Vec<&str> = resource_spans[0]
                    .scope_spans
                    .iter()
                    .map(|scope| scope.scope.as_ref().expect("scope").name.as_str())
                    .collect();
                assert_eq!(scopes, ["even", "odd"], "{protocol:?}");
                resource_spans[0]
                    .scope_spans
                    .iter()
                    .map(|scope| scope.spans.len())
                    .sum()
            })
            .collect();
        assert_eq!(sizes, [10, 10, 5], "{protocol:?}");
        let mut names: Vec<String> = receiver
            .spans()
            .into_iter()
            .map(|(_, span)| span.name)
            .collect();
        names.sort_by_key(|name| name[5..].parse::<u64>().expect("index"));
        let expected: Vec<String> = (0..25).map(|index| format!("span {index}")).collect();
        assert_eq!(names, expected, "every span once");
        assert!(received.iter().all(|request| {
            request
                .headers
                .contains(&("x-tenant".to_owned(), "blue".to_owned()))
        }));
        // As the OTLP specification asks: exporter, language, version.
        let agent = concat!("spanflow-OTLP-Exporter-Rust/", env!("CARGO_PKG_VERSION"));
        assert!(
            received.iter().all(|request| {
                request
                    .headers
                    .iter()
                    .any(|(name, value)| name == "user-agent" && value.starts_with(agent))
            }),
            "{protocol:?}: {:?}",
            received[0].headers
        );
        let stats = counters.snapshot();
        assert_eq!((stats.offered, stats.exported, stats.failed), (25, 25, 0));
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn a_partial_success_counts_the_rejected_spans_as_failed() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let (processor, counters) = processor(
            &receiver,
            protocol,
            BatchOptions::default(),
            Duration::from_secs(10),
            Retry::default(),
        );
        // A partial success is an answer: never retried.
        receiver.set_behaviour(Behaviour::Reject);
        for index in 0..7 {
            processor.on_end(span(index, "spanflow"));
        }
        processor.force_flush().expect("flushed");
        receiver.set_behaviour(Behaviour::Accept);
        processor.on_end(span(7, "spanflow"));
        processor.force_flush().expect("flushed");
        let stats = counters.snapshot();
        assert_eq!(
            (stats.offered, stats.exported, stats.failed),
            (8, 1, 7),
            "{protocol:?}"
        );
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn an_endless_http_answer_is_read_only_so_far_and_its_status_counts() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::HttpJson] {
        let receiver = OtlpReceiver::start().expect("receiver");
        receiver.set_behaviour(Behaviour::Flood);
        let (processor, counters) = processor(
            &receiver,
            protocol,
            BatchOptions::default(),
            Duration::from_secs(10),
            Retry::none(),
        );
        processor.on_end(span(0, "spanflow"));
        processor.force_flush().expect("flushed");
        let stats = counters.snapshot();
        assert_eq!((stats.exported, stats.failed), (1, 0), "{protocol:?}");
        assert_eq!(receiver.spans().len(), 1, "{protocol:?}");
        // The 4 MiB read, and what the sockets' buffers held when the
        // client let the connection go.
        let flooded = receiver.flooded_bytes();
        assert!(flooded < 64 << 20, "{protocol:?}: {flooded} bytes taken");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn a_stalled_receiver_costs_queued_batches_not_memory_or_time() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let batch = BatchOptions {
            max_export_batch_size: 10,
            max_queue_size: 30,
            export_timeout: Duration::from_millis(300),
            schedule_delay: Duration::from_secs(3600),
            max_concurrent_exports: 1,
        };
        let timeout = Duration::from_millis(200);
        let (processor, counters) = processor(&receiver, protocol, batch, timeout, Retry::none());
        receiver.set_behaviour(Behaviour::Stall);
        let started = Instant::now();
        for index in 0..1_000 {
            processor.on_end(span(index, "spanflow"));
        }
        // Ending spans never waits for the receiver.
        // (Waiting on even one stalled request would take the whole timeout.)
        assert!(started.elapsed() < timeout, "{protocol:?}");
        // At most one request in flight and 30 spans queued: the rest dropped.
        let _ = processor.force_flush();
        receiver.set_behaviour(Behaviour::Accept);
        processor
            .force_flush()
            .expect("flushed once the receiver answers");
        let stats = counters.snapshot();
        assert_eq!(stats.offered, 1_000);
        assert!(
            stats.failed >= 10,
            "{protocol:?}: stalled requests time out: {stats:?}"
        );
        // What was queued when the receiver came back goes through; the
        // queue held 30 spans, plus the request in flight.
        let handled = stats.exported + stats.failed;
        assert!((30..=40).contains(&handled), "{protocol:?}: {stats:?}");
        assert_eq!(stats.unaccounted(), 1_000 - handled, "the rest was dropped");

        processor.on_end(span(1_000, "spanflow"));
        processor.force_flush().expect("flushed");
        assert_eq!(
            counters.snapshot().exported,
            stats.exported + 1,
            "{protocol:?}: export resumes"
        );
        let started = Instant::now();
        processor.shutdown().expect("shut down");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn max_concurrent_exports_sends_that_many_requests_side_by_side() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let batch = BatchOptions {
            max_export_batch_size: 1,
            schedule_delay: Duration::from_secs(3600),
            max_concurrent_exports: 3,
            ..BatchOptions::default()
        };
        // Longer than the wait below: one sender would hold one request
        // all that time.
        let timeout = Duration::from_secs(60);
        let (processor, counters) = processor(&receiver, protocol, batch, timeout, Retry::none());
        receiver.set_behaviour(Behaviour::Stall);
        for index in 0..5 {
            processor.on_end(span(index, "spanflow"));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        assert_eq!(
            receiver.wait_for_held_requests(3, deadline),
            3,
            "{protocol:?}: three requests side by side, no more"
        );
        // The receiver's end fails the three held requests, and the two
        // batches behind them find nobody; the flush waits for all five.
        drop(receiver);
        processor.force_flush().expect("flushed");
        let stats = counters.snapshot();
        assert_eq!((stats.exported, stats.failed), (0, 5), "{protocol:?}");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn transient_failures_are_retried_until_the_receiver_is_back() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let (processor, counters) = retrying(&receiver, protocol, 100, Duration::from_millis(20));
        // 503 / UNAVAILABLE: transient.
        receiver.set_behaviour(Behaviour::Fail);
        for index in 0..3 {
            processor.on_end(span(index, "spanflow"));
        }
        let flushing = std::thread::spawn(move || {
            let flushed = processor.force_flush();
            (processor, flushed)
        });
        // Let a few attempts fail, then come back.
        let deadline = Instant::now() + Duration::from_secs(30);
        while counters.snapshot().retried < 9 {
            assert!(Instant::now() < deadline, "{protocol:?}: no retries");
            std::thread::sleep(Duration::from_millis(5));
        }
        receiver.set_behaviour(Behaviour::Accept);
        let (processor, flushed) = flushing.join().expect("flushing thread");
        flushed.expect("flushed once retried");
        let stats = counters.snapshot();
        assert_eq!((stats.exported, stats.failed), (3, 0), "{protocol:?}");
        assert!(stats.retried >= 9, "{protocol:?}: {stats:?}");
        assert_eq!(receiver.spans().len(), 3, "{protocol:?}: once each");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn a_throttled_export_waits_as_long_as_the_receiver_asks_then_goes_through() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        // HTTP 429 with Retry-After: 1 s; gRPC RESOURCE_EXHAUSTED, which
        // only its RetryInfo makes worth retrying, asking for 300 ms.
        let asked = match protocol {
            OtlpProtocol::Grpc => THROTTLE_DELAY,
            _ => Duration::from_secs(1),
        };
        receiver.set_behaviour(Behaviour::Throttle);
        // Far shorter than what the receiver asks.
        let (processor, counters) = retrying(&receiver, protocol, 5, Duration::from_millis(10));
        let started = Instant::now();
        processor.on_end(span(0, "spanflow"));
        let flushing = std::thread::spawn(move || {
            let flushed = processor.force_flush();
            (processor, flushed)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(receiver.wait_for_requests(1, deadline), 1, "{protocol:?}");
        receiver.set_behaviour(Behaviour::Accept);
        let (processor, flushed) = flushing.join().expect("flushing thread");
        flushed.expect("flushed once retried");
        let waited = started.elapsed();
        assert!(
            waited >= asked * 4 / 5,
            "{protocol:?}: retried after {waited:?}"
        );
        let stats = counters.snapshot();
        assert_eq!(
            (stats.exported, stats.failed, stats.retried),
            (1, 0, 1),
            "{protocol:?}"
        );
        assert_eq!(receiver.requests(), 2, "{protocol:?}");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn timeouts_too_long_for_a_clock_or_grpc_mean_no_limit() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let batch = BatchOptions {
            export_timeout: Duration::MAX,
            ..BatchOptions::default()
        };
        let (processor, counters) =
            processor(&receiver, protocol, batch, Duration::MAX, Retry::none());
        processor.on_end(span(0, "spanflow"));
        processor.force_flush().expect("flushed");
        let stats = counters.snapshot();
        assert_eq!((stats.exported, stats.failed), (1, 0), "{protocol:?}");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn retries_stop_after_max_attempts() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        let (processor, counters) = retrying(&receiver, protocol, 3, Duration::from_millis(10));
        receiver.set_behaviour(Behaviour::Fail);
        processor.on_end(span(0, "spanflow"));
        processor.force_flush().expect("flushed");
        let stats = counters.snapshot();
        assert_eq!(
            (stats.failed, stats.retried),
            (1, 2),
            "{protocol:?}: three attempts"
        );
        assert_eq!(receiver.requests(), 3, "{protocol:?}");
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn a_shutdown_ends_a_retry_waiting_and_counts_its_batch_failed() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        receiver.set_behaviour(Behaviour::Fail);
        let (processor, counters) = retrying(&receiver, protocol, 10, Duration::from_secs(5));
        processor.on_end(span(0, "spanflow"));
        // Sent by the flush inside the shutdown; its first attempt fails and
        // the sender waits 4-6 s before the next.
        let started = Instant::now();
        let outcome = processor.shutdown_with_timeout(Duration::from_secs(1));
        assert!(
            matches!(outcome, Err(OTelSdkError::Timeout(_))),
            "{protocol:?}: the flush gives up at the shutdown's timeout: {outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{protocol:?}: the wait was cut"
        );
        let stats = counters.snapshot();
        assert_eq!((stats.failed, stats.retried), (1, 0), "{protocol:?}");
        assert_eq!(receiver.requests(), 1, "{protocol:?}");
    }
}

#[test]
fn retries_end_when_the_next_would_not_fit_in_the_export_time() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        receiver.set_behaviour(Behaviour::Fail);
        let retry = Retry {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(200),
        };
        let batch = BatchOptions {
            export_timeout: Duration::from_secs(30),
            ..BatchOptions::default()
        };
        // The request timeout is the export's time: 100 attempts 200 ms
        // apart would take 20 s.
        let export_time = Duration::from_secs(1);
        let (processor, counters) = processor(&receiver, protocol, batch, export_time, retry);
        let started = Instant::now();
        processor.on_end(span(0, "spanflow"));
        processor.force_flush().expect("flushed");
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(3),
            "{protocol:?}: {elapsed:?}"
        );
        let stats = counters.snapshot();
        assert_eq!(stats.failed, 1, "{protocol:?}");
        // Waits of 160-240 ms in one second, less the requests' own time.
        assert!((2..=6).contains(&stats.retried), "{protocol:?}: {stats:?}");
        // The last attempt may get a few ms and end before it reaches the
        // receiver.
        let requests = receiver.requests();
        assert!(
            (stats.retried..=stats.retried + 1).contains(&requests),
            "{protocol:?}: {requests} requests, {stats:?}"
        );
        processor.shutdown().expect("shut down");
    }
}

#[test]
fn a_stalled_request_ends_at_the_export_timeout_not_the_request_timeout() {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().expect("receiver");
        receiver.set_behaviour(Behaviour::Stall);
        // Long enough for the request to reach the receiver on a busy
        // machine, far shorter than the request timeout.
        let batch = BatchOptions {
            export_timeout: Duration::from_secs(1),
            ..BatchOptions::default()
        };
        let (processor, counters) = processor(
            &receiver,
            protocol,
            batch,
            Duration::from_secs(20),
            Retry::default(),
        );
        let started = Instant::now();
        processor.on_end(span(0, "spanflow"));
        // The flush waits as long as the request may take; it may see the
        // request end or give up at the same moment.
        let _ = processor.force_flush();
        let deadline = started + Duration::from_secs(10);
        while counters.snapshot().failed == 0 {
            assert!(Instant::now() < deadline, "{protocol:?}: still waiting");
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(5),
            "{protocol:?}: {elapsed:?}"
        );
        let stats = counters.snapshot();
        assert_eq!((stats.failed, stats.retried), (1, 0), "{protocol:?}");
        assert_eq!(receiver.held_requests(), 1, "{protocol:?}: one attempt");
        processor.shutdown().expect("shut down");
    }
}

/// A processor retrying `attempts` times, `backoff` apart, in an export
/// time of 10 s (the request timeout).
fn retrying(
    receiver: &OtlpReceiver,
    protocol: OtlpProtocol,
    attempts: u32,
    backoff: Duration,
) -> (OtlpProcessor, Arc<ExportCounters>) {
    let retry = Retry {
        max_attempts: attempts,
        initial_backoff: backoff,
        max_backoff: backoff,
    };
    processor(
        receiver,
        protocol,
        BatchOptions::default(),
        Duration::from_secs(10),
        retry,
    )
}

/// `https://` receivers: trusted through a CA given in code, refused when
/// not trusted, and asking for a client certificate (mutual TLS).
#[cfg(feature = "tls")]
mod tls {
    use spanflow_otlp_receiver::SelfSigned;

    use super::*;

    /// Sends three spans to `receiver` with `target` adjusted by `tls`;
    /// returns (exported, failed) and how many spans the receiver kept.
    fn send_three(
        receiver: &OtlpReceiver,
        protocol: OtlpProtocol,
        tls: impl FnOnce(OtlpTarget) -> OtlpTarget,
    ) -> ((u64, u64), usize) {
        let endpoint = match protocol {
            OtlpProtocol::Grpc => receiver.grpc_endpoint(),
            _ => receiver.http_endpoint(),
        };
        assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
        let target = tls(OtlpTarget::new(&endpoint, protocol).expect("loopback URL"))
            .with_retry(Retry::none());
        let request = RequestOptions {
            headers: Vec::new(),
            timeout: Duration::from_secs(5),
            compression: Compression::None,
        };
        let counters = Arc::new(ExportCounters::default());
        let processor = OtlpProcessor::start(&target, request, BatchOptions::default(), &counters)
            .expect("client set up");
        for index in 0..3 {
            processor.on_end(span(index, "spanflow"));
        }
        let _ = processor.force_flush();
        processor.shutdown().expect("shut down");
        let stats = counters.snapshot();
        ((stats.exported, stats.failed), receiver.spans().len())
    }

    #[test]
    fn a_receiver_trusted_through_the_given_ca_gets_the_spans() {
        for protocol in PROTOCOLS {
            let identity = SelfSigned::generate().expect("certificate");
            let receiver = OtlpReceiver::start_tls(identity.clone()).expect("receiver");
            let sent = send_three(&receiver, protocol, |target| {
                target.with_ca_certificate(identity.certificate_pem.clone())
            });
            assert_eq!(sent, ((3, 0), 3), "{protocol:?}");
        }
    }

    #[test]
    fn an_untrusted_receiver_gets_nothing_and_the_spans_count_as_failed() {
        for protocol in PROTOCOLS {
            let identity = SelfSigned::generate().expect("certificate");
            let receiver = OtlpReceiver::start_tls(identity).expect("receiver");
            let sent = send_three(&receiver, protocol, |target| target);
            assert_eq!(sent, ((0, 3), 0), "{protocol:?}");
        }
    }

    #[test]
    fn a_receiver_asking_for_a_client_certificate_gets_spans_only_with_one() {
        for protocol in PROTOCOLS {
            let server = SelfSigned::generate().expect("server certificate");
            let client = SelfSigned::generate().expect("client certificate");
            let receiver =
                OtlpReceiver::start_mutual_tls(server.clone(), client.certificate_pem.clone())
                    .expect("receiver");
            let trusting =
                |target: OtlpTarget| target.with_ca_certificate(server.certificate_pem.clone());
            let without = send_three(&receiver, protocol, trusting);
            assert_eq!(
                without,
                ((0, 3), 0),
                "{protocol:?} without a client certificate"
            );
            let with = send_three(&receiver, protocol, |target| {
                trusting(target)
                    .with_client_identity(client.certificate_pem.clone(), client.key_pem.clone())
            });
            assert_eq!(with, ((3, 0), 3), "{protocol:?} with a client certificate");
        }
    }
}
