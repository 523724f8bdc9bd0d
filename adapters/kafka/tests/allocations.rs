//! What a message's spans allocate on the producing and the consuming
//! thread, with a counting global allocator (this binary's only test, so
//! nothing else counted allocates meanwhile, and its two parts one after
//! the other), against the real broker.

#[path = "../../../tests/tests/counting/mod.rs"]
mod counting;
mod support;

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry_sdk::trace::SpanData;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use spanflow_kafka::extract_context;
use support::{
    TIMEOUT, attribute, finished_spans, fresh_topic, installed, next_message, plain_producer,
    spans_of, traced_consumer, traced_producer,
};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_spans_lend_their_names_topics_and_client_attributes() {
    installed();
    a_consumed_message_span_allocates_twice_once_warm().await;
    a_sent_message_span_allocates_three_times_more_than_an_untraced_send().await;
}

async fn a_consumed_message_span_allocates_twice_once_warm() {
    let topic = fresh_topic("allocations").await;
    let headers = OwnedHeaders::new().insert(Header {
        key: "traceparent",
        value: Some(TRACEPARENT),
    });
    plain_producer()
        .send(
            FutureRecord::to(&topic)
                .key("order-17")
                .payload("{}")
                .headers(headers),
            TIMEOUT,
        )
        .await
        .expect("delivered");
    let consumer = traced_consumer(&topic, "allocations");
    let message = next_message(&consumer).await;
    let trace = extract_context(&message).span().span_context().trace_id();

    // Warm the thread's rings, spare records and topic parts.
    for _ in 0..2_048 {
        drop(consumer.process_span(&message));
    }
    assert_eq!(spans_of(trace).len(), 2_048);

    // Counted 250 at a time, the pipeline flushed (uncounted) in between,
    // so that the spans find the spare records the warm-up left, as a
    // thread does when the collector keeps up.
    const SPANS: u64 = 1_000;
    let mut made = 0;
    for _ in 0..4 {
        made += counting::allocations_of(|| {
            for _ in 0..SPANS / 4 {
                drop(consumer.process_span(&message));
            }
        });
        installed().1.flush().expect("flushed in time");
    }
    // The key as a string attribute and the span's own `Context`; the
    // producer's span context is kept beside it, not in a `Context` of its
    // own, the `traceparent` header is read without OpenTelemetry's
    // `get_all` list, and the name, the topic and the client's attributes
    // are lent, not copied.
    assert_eq!(made, 2 * SPANS, "allocations for {SPANS} spans");

    let spans = spans_of(trace);
    assert_eq!(spans.len(), 2_048 + SPANS as usize);
    let last = spans.last().expect("spans");
    assert_eq!(last.name, format!("process {topic}"));
    assert_eq!(last.span_kind, SpanKind::Consumer);
    assert_attributes(last, &sent_record_attributes());
    assert_attributes(
        last,
        &[
            ("messaging.destination.name", Value::from(topic.clone())),
            ("messaging.consumer.group.name", Value::from("allocations")),
            (spanflow_kafka::attributes::CONSUMER_LAG, Value::I64(0)),
        ],
    );
}

async fn a_sent_message_span_allocates_three_times_more_than_an_untraced_send() {
    let topic = fresh_topic("allocations-send").await;
    let producer = traced_producer();
    let record = || FutureRecord::to(&topic).key("order-17").payload("{}");
    // The send awaited on this thread (the delivery report arrives from
    // librdkafka's, whose allocations are its own, in C); counted 50 at a
    // time, the pipeline flushed (uncounted) in between, as above.
    let sends = |traced: bool, count: u64| {
        let mut made = 0;
        for _ in 0..count / 50 {
            made += counting::allocations_of(|| {
                for _ in 0..50 {
                    let delivered = if traced {
                        futures::executor::block_on(producer.send(record(), TIMEOUT))
                    } else {
                        futures::executor::block_on(producer.inner().send(record(), TIMEOUT))
                    };
                    delivered.expect("delivered");
                }
            });
            installed().1.flush().expect("flushed in time");
        }
        made
    };

    // Warm the thread's spare records and the topic's parts.
    sends(false, 250);
    sends(true, 250);

    const SENDS: u64 = 200;
    let untraced = sends(false, SENDS);
    let traced = sends(true, SENDS);
    // The span's `Context`, the `traceparent` value the propagator writes
    // (a `String`, which librdkafka copies into the record), the key as a
    // string attribute; the name, the topic, the partition id and the
    // client's attributes are lent, not copied.
    assert_eq!(
        traced - untraced,
        3 * SENDS,
        "allocations for {SENDS} sends, traced against untraced"
    );

    let name = format!("send {topic}");
    let spans = finished_spans(|span| span.name == name);
    assert_eq!(spans.len(), 250 + SENDS as usize);
    let last = spans.last().expect("spans");
    assert_eq!(last.span_kind, SpanKind::Producer);
    assert_attributes(last, &sent_record_attributes());
}

/// What both spans record of the record this test sends.
fn sent_record_attributes() -> [(&'static str, Value); 3] {
    [
        ("messaging.destination.partition.id", Value::from("0")),
        ("messaging.client.id", Value::from("spanflow-tests")),
        ("messaging.kafka.message.key", Value::from("order-17")),
    ]
}

fn assert_attributes(span: &SpanData, expected: &[(&str, Value)]) {
    for (key, value) in expected {
        assert_eq!(attribute(span, key), Some(value), "{key}");
    }
}
