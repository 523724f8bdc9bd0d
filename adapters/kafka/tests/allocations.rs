//! What a consumed message's span allocates on the consuming thread, with
//! a counting global allocator (this binary's only test, so nothing else
//! counted allocates meanwhile), against the real broker.

#[path = "../../../tests/tests/counting/mod.rs"]
mod counting;
mod support;

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use spanflow_kafka::extract_context;
use support::{
    TIMEOUT, attribute, fresh_topic, installed, next_message, plain_producer, spans_of,
    traced_consumer,
};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumed_message_span_allocates_four_times_once_warm() {
    installed();
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
    // The producer's extracted `Context`, the propagator's list of the
    // `traceparent` values (OpenTelemetry's `Extractor::get_all`), the key
    // as a string attribute, the span's own `Context`; the name, the topic
    // and the client's attributes are lent, not copied.
    assert_eq!(made, 4 * SPANS, "allocations for {SPANS} spans");

    let spans = spans_of(trace);
    assert_eq!(spans.len(), 2_048 + SPANS as usize);
    let last = spans.last().expect("spans");
    assert_eq!(last.name, format!("process {topic}"));
    assert_eq!(last.span_kind, SpanKind::Consumer);
    assert_eq!(
        attribute(last, "messaging.destination.name"),
        Some(&Value::from(topic.clone()))
    );
    assert_eq!(
        attribute(last, "messaging.destination.partition.id"),
        Some(&Value::from("0"))
    );
    assert_eq!(
        attribute(last, "messaging.consumer.group.name"),
        Some(&Value::from("allocations"))
    );
    assert_eq!(
        attribute(last, "messaging.client.id"),
        Some(&Value::from("spanflow-tests"))
    );
    assert_eq!(
        attribute(last, "messaging.kafka.message.key"),
        Some(&Value::from("order-17"))
    );
    assert_eq!(
        attribute(last, spanflow_kafka::attributes::CONSUMER_LAG),
        Some(&Value::I64(0))
    );
}
