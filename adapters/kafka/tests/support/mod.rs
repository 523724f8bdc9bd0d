//! What the Kafka tests share: the broker, one pipeline into memory, fresh
//! topics, and clients configured for a single local broker.

#![allow(dead_code)] // each test binary uses a part

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use opentelemetry::Value;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use spanflow::PipelineGuard;
use spanflow_kafka::{TracedConsumer, TracedProducer};

/// How long any one broker operation may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The pipeline of this test binary, installed on first use.
pub fn installed() -> &'static (InMemorySpanExporter, PipelineGuard) {
    static INSTALLED: OnceLock<(InMemorySpanExporter, PipelineGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            // The volume test makes 30,000 spans in about two seconds while
            // other tests read the in-memory exporter: room for all of them,
            // so that a count is exact (drops are asserted to be zero).
            .with_queue_capacity(1 << 16)
            .install()
            .expect("the only pipeline of this binary");
        (exporter, pipeline)
    })
}

/// Every finished span of `trace`, after a flush.
pub fn spans_of(trace: TraceId) -> Vec<SpanData> {
    finished_spans(|span| span.span_context.trace_id() == trace)
}

/// Every finished span that `keep` keeps, after a flush.
pub fn finished_spans(keep: impl Fn(&SpanData) -> bool) -> Vec<SpanData> {
    let (exporter, pipeline) = installed();
    pipeline.flush().expect("flushed in time");
    exporter
        .get_finished_spans()
        .expect("in-memory exporter")
        .into_iter()
        .filter(|span| keep(span))
        .collect()
}

/// An attribute's value.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The one span named `name` among `spans`.
pub fn the_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let mut found = spans.iter().filter(|span| span.name == name);
    let span = found
        .next()
        .unwrap_or_else(|| panic!("no span {name} in {:?}", names(spans)));
    assert!(found.next().is_none(), "two spans named {name}");
    span
}

pub fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|span| span.name.as_ref()).collect()
}

/// Configuration for a client of the test broker.
pub fn client_config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", spanflow_test_kafka::bootstrap())
        .set("client.id", "spanflow-tests")
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "1");
    config
}

/// A new single-partition topic named after `purpose`, unique in this run.
pub async fn fresh_topic(purpose: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let topic = format!(
        "{purpose}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    spanflow_test_kafka::create_topic(&topic).await;
    topic
}

pub fn traced_producer() -> TracedProducer {
    TracedProducer::from_config(&client_config()).expect("a producer")
}

pub fn plain_producer() -> FutureProducer {
    client_config().create().expect("a producer")
}

/// A consumer in `group` reading partition 0 of `topic` from the start.
/// Assigned, not subscribed: a group rebalance takes many seconds, and
/// these tests are about what each message carries.
pub fn traced_consumer(topic: &str, group: &str) -> TracedConsumer {
    TracedConsumer::new(plain_consumer(topic, group))
}

pub fn plain_consumer(topic: &str, group: &str) -> StreamConsumer {
    assigned_consumer(client_config(), topic, group)
}

/// A consumer made from `config`, in `group`, assigned partition 0 of
/// `topic` from the start.
pub fn assigned_consumer(mut config: ClientConfig, topic: &str, group: &str) -> StreamConsumer {
    let consumer: StreamConsumer = config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("a consumer");
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition 0");
    consumer.assign(&partitions).expect("assigned");
    consumer
}

/// The next message, or a failed test after [`TIMEOUT`].
pub async fn next_message(consumer: &StreamConsumer) -> rdkafka::message::BorrowedMessage<'_> {
    tokio::time::timeout(TIMEOUT, consumer.recv())
        .await
        .expect("a message within the timeout")
        .expect("no consumer error")
}

/// Writes a header with arbitrary key bytes, as a client in another
/// language may: rdkafka's `insert` takes only `&str` keys.
pub fn add_raw_header(headers: &mut OwnedHeaders, key: &[u8], value: &[u8]) {
    let list = (headers.as_borrowed() as *const rdkafka::message::BorrowedHeaders)
        .cast::<rdkafka_sys::rd_kafka_headers_t>()
        .cast_mut();
    // SAFETY: `list` is the writable header list `headers` owns (the view's
    // address is the list, as spanflow-kafka's unit tests check); librdkafka
    // copies key and value.
    unsafe {
        rdkafka_sys::rd_kafka_header_add(
            list,
            key.as_ptr().cast(),
            key.len() as isize,
            value.as_ptr().cast(),
            value.len() as isize,
        );
    }
}
