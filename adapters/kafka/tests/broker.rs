//! Produce → consume through a real broker (Tansu on loopback).

mod support;

use std::time::Duration;

use std::collections::HashMap;

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceId};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use spanflow::TracedExt;
use spanflow_kafka::ProducerRelation;
use support::*;

fn current_trace() -> TraceId {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id()
}

/// `(key, value)` of every header, bytes as they are.
fn header_bytes(headers: &impl Headers) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    (0..headers.count())
        .filter_map(|index| headers.try_get(index))
        .map(|header| {
            (
                header.key.as_bytes().to_vec(),
                header.value.map(<[u8]>::to_vec),
            )
        })
        .collect()
}

const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_then_consume_is_one_trace() {
    installed();
    let topic = fresh_topic("one-trace").await;
    let producer = traced_producer();
    let root = spanflow::span!("checkout");
    let trace = root.span_context().trace_id();
    let delivery = async {
        producer
            .send(
                FutureRecord::to(&topic).key("order-7").payload("{}"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered")
    }
    .in_span(root)
    .await;

    let consumer = traced_consumer(&topic, "billing");
    let message = next_message(&consumer).await;
    let seen = consumer.process(&message, async { current_trace() }).await;
    assert_eq!(seen, trace, "the handler runs in the producer's trace");

    let spans = spans_of(trace);
    let checkout = the_span(&spans, "checkout");
    let send = the_span(&spans, &format!("send {topic}"));
    let process = the_span(&spans, &format!("process {topic}"));
    assert_eq!(send.span_kind, SpanKind::Producer);
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_eq!(send.parent_span_id, checkout.span_context.span_id());
    assert_eq!(process.parent_span_id, send.span_context.span_id());
    let expected = [
        (send, "messaging.system", Value::from("kafka")),
        (send, "messaging.operation.name", Value::from("send")),
        (
            send,
            "messaging.destination.name",
            Value::from(topic.clone()),
        ),
        (send, "messaging.destination.partition.id", Value::from("0")),
        (send, "messaging.kafka.offset", Value::I64(delivery.offset)),
        (send, "messaging.kafka.message.key", Value::from("order-7")),
        (send, "messaging.message.body.size", Value::I64(2)),
        (send, "messaging.client.id", Value::from("spanflow-tests")),
        (send, "server.address", Value::from("127.0.0.1")),
        (process, "messaging.operation.name", Value::from("process")),
        (
            process,
            "messaging.consumer.group.name",
            Value::from("billing"),
        ),
        (
            process,
            "messaging.kafka.offset",
            Value::I64(delivery.offset),
        ),
        (
            process,
            "messaging.kafka.message.key",
            Value::from("order-7"),
        ),
        (process, "messaging.message.body.size", Value::I64(2)),
        (process, "spanflow.kafka.consumer_lag", Value::I64(0)),
    ];
    for (span, key, value) in expected {
        assert_eq!(attribute(span, key), Some(&value), "{} {key}", span.name);
    }
    assert!(
        matches!(attribute(process, "spanflow.kafka.time_in_topic_ms"), Some(Value::I64(ms)) if *ms >= 0),
        "time in topic recorded"
    );
    for span in [send, process] {
        assert_eq!(attribute(span, "messaging.kafka.message.tombstone"), None);
        assert_eq!(attribute(span, "code.file.path"), None, "an adapter's span");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tombstone_is_marked_when_sent_and_when_processed() {
    installed();
    let topic = fresh_topic("tombstone").await;
    let producer = traced_producer();
    let root = spanflow::span!("forget");
    let trace = root.span_context().trace_id();
    async {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).key("order-9"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered")
    }
    .in_span(root)
    .await;
    let consumer = traced_consumer(&topic, "compaction");
    let message = next_message(&consumer).await;
    assert_eq!(message.payload(), None, "a tombstone has no value");
    consumer.process(&message, async {}).await;

    let spans = spans_of(trace);
    for name in [format!("send {topic}"), format!("process {topic}")] {
        let span = the_span(&spans, &name);
        assert_eq!(
            attribute(span, "messaging.kafka.message.tombstone"),
            Some(&Value::Bool(true)),
            "{name}"
        );
        assert_eq!(attribute(span, "messaging.message.body.size"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_option_starts_a_new_trace_linked_to_the_producer() {
    installed();
    let topic = fresh_topic("link").await;
    let root = spanflow::span!("publisher");
    let produced_trace = root.span_context().trace_id();
    let producer = traced_producer();
    async {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).payload("x"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered")
    }
    .in_span(root)
    .await;

    let consumer = traced_consumer(&topic, "audit").with_producer_relation(ProducerRelation::Link);
    let message = next_message(&consumer).await;
    let consumed_trace = consumer.process(&message, async { current_trace() }).await;
    assert_ne!(consumed_trace, produced_trace, "a new trace");

    let produced = spans_of(produced_trace);
    let send = the_span(&produced, &format!("send {topic}"));
    let consumed = spans_of(consumed_trace);
    let process = the_span(&consumed, &format!("process {topic}"));
    assert_eq!(process.parent_span_id, SpanId::INVALID, "a root");
    assert_eq!(process.links.len(), 1);
    assert_eq!(process.links[0].span_context.trace_id(), produced_trace);
    assert_eq!(
        process.links[0].span_context.span_id(),
        send.span_context.span_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_headers_survive_and_trace_headers_are_written_once() {
    installed();
    let topic = fresh_topic("headers").await;
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "tenant",
            value: Some("acme"),
        })
        .insert(Header {
            key: "traceparent",
            value: Some("00-stale"),
        })
        .insert(Header {
            key: "binary",
            value: Some(&[0u8, 0xff, 1][..]),
        })
        .insert(Header {
            key: "tenant",
            value: Some("acme-2"),
        });
    let root = spanflow::span!("sender");
    let trace = root.span_context().trace_id();
    let producer = traced_producer();
    async {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic)
                    .payload("x")
                    .headers(headers),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered")
    }
    .in_span(root)
    .await;

    let consumer = traced_consumer(&topic, "headers");
    let message = next_message(&consumer).await;
    let received = header_bytes(message.headers().expect("headers"));
    let keys: Vec<&[u8]> = received.iter().map(|(key, _)| key.as_slice()).collect();
    assert_eq!(keys, [&b"tenant"[..], b"binary", b"tenant", b"traceparent"]);
    assert_eq!(received[0].1.as_deref(), Some(&b"acme"[..]));
    assert_eq!(received[1].1.as_deref(), Some(&[0u8, 0xff, 1][..]));
    assert_eq!(received[2].1.as_deref(), Some(&b"acme-2"[..]));
    let traceparent = String::from_utf8(received[3].1.clone().expect("a value")).expect("UTF-8");
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );
    assert_eq!(
        consumer.process(&message, async { current_trace() }).await,
        trace
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_non_utf8_headers_start_a_new_trace_without_panicking() {
    installed();
    let topic = fresh_topic("garbage").await;
    let producer = plain_producer();
    let garbage_values: [&[u8]; 5] = [
        b"not a traceparent",
        b"00-00000000000000000000000000000000-0000000000000000-01",
        b"",
        &[0xff, 0xfe, 0xfd],
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-garbage\x00",
    ];
    for value in garbage_values {
        let mut headers = OwnedHeaders::new();
        add_raw_header(&mut headers, b"traceparent", value);
        add_raw_header(&mut headers, &[0xc3, 0x28], b"bad key");
        add_raw_header(&mut headers, b"baggage", &[0xff, b'=', 0xfe]);
        add_raw_header(&mut headers, b"tracestate", b"\x00\x01=,,==");
        producer
            .send(
                FutureRecord::<str, str>::to(&topic)
                    .payload("x")
                    .headers(headers),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered");
    }

    let consumer = traced_consumer(&topic, "garbage");
    let mut traces = Vec::new();
    for _ in garbage_values {
        let message = next_message(&consumer).await;
        traces.push(consumer.process(&message, async { current_trace() }).await);
    }
    for trace in traces {
        assert_ne!(trace, TraceId::INVALID, "processing got a trace of its own");
        let spans = spans_of(trace);
        let process = the_span(&spans, &format!("process {topic}"));
        assert_eq!(process.parent_span_id, SpanId::INVALID, "a new trace");
        assert!(!process.parent_span_is_remote);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_w3c_header_written_as_java_and_python_write_it_continues_that_trace() {
    installed();
    let topic = fresh_topic("interop").await;
    // Byte for byte what opentelemetry-java's and opentelemetry-python's
    // Kafka instrumentations put on a record: lowercase keys, UTF-8 values.
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "traceparent",
            value: Some(&b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"[..]),
        })
        .insert(Header {
            key: "tracestate",
            value: Some(&b"congo=t61rcWkgMzE"[..]),
        })
        .insert(Header {
            key: "baggage",
            value: Some(&b"user.tier=gold"[..]),
        });
    plain_producer()
        .send(
            FutureRecord::<str, str>::to(&topic)
                .payload("x")
                .headers(headers),
            SEND_TIMEOUT,
        )
        .await
        .expect("delivered");

    let consumer = traced_consumer(&topic, "interop");
    let message = next_message(&consumer).await;
    let (trace, tier) = consumer
        .process(&message, async {
            let context = opentelemetry::Context::current();
            let tier = opentelemetry::baggage::BaggageExt::baggage(&context)
                .get("user.tier")
                .map(|value| value.to_string());
            (context.span().span_context().trace_id(), tier)
        })
        .await;
    let expected = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    assert_eq!(trace, expected);
    assert_eq!(tier.as_deref(), Some("gold"), "baggage arrives too");
    let spans = spans_of(expected);
    let process = the_span(&spans, &format!("process {topic}"));
    assert_eq!(
        process.parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    assert!(process.parent_span_is_remote);
    assert_eq!(
        process.span_context.trace_state().header(),
        "congo=t61rcWkgMzE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_consumption_links_every_message() {
    installed();
    let topic = fresh_topic("batch").await;
    let producer = traced_producer();
    let mut sends = Vec::new();
    for index in 0..5 {
        let root = spanflow::span!("order");
        let trace = root.span_context().trace_id();
        async {
            producer
                .send(
                    FutureRecord::<str, str>::to(&topic).payload(&index.to_string()),
                    SEND_TIMEOUT,
                )
                .await
                .expect("delivered")
        }
        .in_span(root)
        .await;
        sends.push(trace);
    }

    let consumer = traced_consumer(&topic, "batch");
    let mut batch = Vec::new();
    for _ in 0..5 {
        batch.push(next_message(&consumer).await.detach());
    }
    let root = spanflow::span!("batch job");
    let job_trace = root.span_context().trace_id();
    consumer.process_batch(&batch, async {}).in_span(root).await;

    let spans = spans_of(job_trace);
    let poll = the_span(&spans, &format!("poll {topic}"));
    assert_eq!(poll.span_kind, SpanKind::Consumer);
    assert_eq!(
        poll.parent_span_id,
        the_span(&spans, "batch job").span_context.span_id()
    );
    assert_eq!(
        attribute(poll, "messaging.batch.message_count"),
        Some(&Value::I64(5))
    );
    let mut expected_links = Vec::new();
    for trace in &sends {
        let produced = spans_of(*trace);
        let send = the_span(&produced, &format!("send {topic}"));
        expected_links.push((*trace, send.span_context.span_id()));
    }
    let links: Vec<(TraceId, SpanId)> = poll
        .links
        .iter()
        .map(|link| (link.span_context.trace_id(), link.span_context.span_id()))
        .collect();
    assert_eq!(links, expected_links, "one link per message, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_grows_when_the_consumer_falls_behind() {
    installed();
    let topic = fresh_topic("lag").await;
    let producer = traced_producer();
    let consumer = traced_consumer(&topic, "lag");
    let lag_of = |message: &rdkafka::message::BorrowedMessage<'_>| {
        let span = consumer.process_span(message);
        let trace = span.span_context().trace_id();
        drop(span);
        let spans = spans_of(trace);
        match attribute(
            the_span(&spans, &format!("process {topic}")),
            "spanflow.kafka.consumer_lag",
        ) {
            Some(Value::I64(lag)) => *lag,
            other => panic!("no consumer lag: {other:?}"),
        }
    };

    // Keeping up: each message is consumed before the next is produced.
    for _ in 0..3 {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).payload("x"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered");
        assert_eq!(lag_of(&next_message(&consumer).await), 0);
    }
    // Falling behind: 100 messages arrive while the consumer is busy.
    for _ in 0..100 {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).payload("x"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered");
    }
    let mut lags = Vec::new();
    for _ in 0..100 {
        lags.push(lag_of(&next_message(&consumer).await));
    }
    // librdkafka fetches in the background while the 100 are produced, so
    // the watermark it caches (the lag's source) can trail the last ones:
    // a loaded run saw 89 at most.
    let largest = *lags.iter().max().expect("lags");
    assert!(largest >= 50, "the backlog shows as lag: {lags:?}");
    assert_eq!(
        *lags.last().expect("lags"),
        0,
        "caught up at the end: {lags:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_arrive_complete_each_in_its_own_trace() {
    const COUNT: usize = 10_000;
    installed();
    let topic = fresh_topic("volume").await;
    let producer = traced_producer();
    // Sent 500 at a time so that librdkafka batches them; each in a root
    // span of its own, its trace id remembered by key.
    let mut sent: HashMap<String, TraceId> = HashMap::with_capacity(COUNT);
    let keys: Vec<String> = (0..COUNT).map(|index| format!("m-{index}")).collect();
    for chunk in keys.chunks(500) {
        let sends = chunk.iter().map(|key| {
            let root = spanflow::span!("request");
            let trace = root.span_context().trace_id();
            let producer = &producer;
            let topic = &topic;
            async move {
                producer
                    .send(
                        FutureRecord::<str, str>::to(topic).key(key).payload("x"),
                        SEND_TIMEOUT,
                    )
                    .await
                    .expect("delivered");
                (key.clone(), trace)
            }
            .in_span(root)
        });
        sent.extend(futures::future::join_all(sends).await);
    }
    assert_eq!(sent.len(), COUNT, "every trace id is distinct per key");

    let consumer = traced_consumer(&topic, "volume");
    let mut received: HashMap<String, TraceId> = HashMap::with_capacity(COUNT);
    for _ in 0..COUNT {
        let message = next_message(&consumer).await;
        let key = String::from_utf8(message.key().expect("a key").to_vec()).expect("UTF-8");
        let trace = consumer.process(&message, async { current_trace() }).await;
        assert!(received.insert(key, trace).is_none(), "no message twice");
    }
    assert_eq!(
        received, sent,
        "every message, each in its producer's trace"
    );
    let traces: std::collections::HashSet<TraceId> = received.values().copied().collect();
    assert_eq!(traces.len(), COUNT, "one trace per message");
    let process_name = format!("process {topic}");
    let processed = finished_spans(|span| span.name == process_name);
    assert_eq!(processed.len(), COUNT, "one process span per message");
    assert_eq!(installed().1.dropped_spans(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsampled_trace_crosses_the_topic_unsampled() {
    installed();
    let topic = fresh_topic("unsampled").await;
    let upstream = opentelemetry::trace::SpanContext::new(
        TraceId::from(0x5a5a_u128 << 64 | 0x1234),
        SpanId::from(0x77_u64),
        opentelemetry::trace::TraceFlags::default(),
        true,
        Default::default(),
    );
    let unsampled = opentelemetry::Context::new().with_remote_span_context(upstream.clone());
    let producer = traced_producer();
    spanflow::in_context(unsampled, async {
        producer
            .send(
                FutureRecord::<str, str>::to(&topic).payload("x"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered")
    })
    .await;

    let consumer = traced_consumer(&topic, "unsampled");
    let message = next_message(&consumer).await;
    let seen = consumer
        .process(&message, async {
            opentelemetry::Context::current()
                .span()
                .span_context()
                .clone()
        })
        .await;
    assert_eq!(
        seen.trace_id(),
        upstream.trace_id(),
        "the consumer agrees on the trace"
    );
    assert!(!seen.is_sampled(), "and on not sampling it");
    assert_ne!(
        seen.span_id(),
        upstream.span_id(),
        "the send had a span id of its own"
    );
    assert!(spans_of(upstream.trace_id()).is_empty(), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_ends_the_span_with_its_error_type() {
    installed();
    // A port nothing listens on: the record times out in librdkafka's queue.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let producer = spanflow_kafka::TracedProducer::from_config(
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", address.to_string())
            .set("message.timeout.ms", "300"),
    )
    .expect("a producer");
    let root = spanflow::span!("doomed");
    let trace = root.span_context().trace_id();
    let outcome = async {
        producer
            .send(
                FutureRecord::<str, str>::to("nowhere").payload("x"),
                SEND_TIMEOUT,
            )
            .await
    }
    .in_span(root)
    .await;
    let (error, _message) = outcome.expect_err("no broker, no delivery");

    let spans = spans_of(trace);
    let send = the_span(&spans, "send nowhere");
    let error_type = format!(
        "{:?}",
        error.rdkafka_error_code().expect("a librdkafka error")
    );
    assert_eq!(
        attribute(send, "error.type"),
        Some(&Value::from(error_type))
    );
    assert!(matches!(
        send.status,
        opentelemetry::trace::Status::Error { .. }
    ));
    assert_eq!(attribute(send, "messaging.kafka.offset"), None);
}
