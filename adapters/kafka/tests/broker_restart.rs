//! The broker restarted in the middle of a traced produce → consume stream
//! of 10,000 messages: every message arrives (at least once), nothing
//! panics, and sends that failed carry an error status on their spans.
//!
//! Ignored in the suite: about one run in two, librdkafka 2.12.1 (what
//! rdkafka 0.39 bundles) crashes with SIGSEGV in its own metadata cache
//! (`rd_kafka_metadata_update_op` → `rd_kafka_metadata_cache_find` →
//! `strcmp`, on its `rdk:main` thread, no spanflow frame on the stack) when
//! the restarted in-memory broker answers with the topic created anew — the
//! crash of confluentinc/librdkafka#5280. When it does not crash, every
//! assertion below holds. Run it with
//! `cargo test -p spanflow-kafka --test broker_restart -- --ignored`.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use opentelemetry::trace::Status;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use spanflow_kafka::{TracedConsumer, TracedProducer};
use spanflow_test_kafka::{OwnedBroker, create_topic_on};
use support::{finished_spans, installed};

const MESSAGES: usize = 10_000;
const BATCH: usize = 500;
const TOPIC: &str = "restarts";

fn config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "1")
        .set("fetch.wait.max.ms", "10")
        // Short, so that some sends fail while the broker is away and are
        // sent again by the application: at-least-once, as configured here.
        .set("message.timeout.ms", "1500")
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "200");
    config
}

/// Creates the topic, retrying while the broker is starting.
async fn topic_ready(bootstrap: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match create_topic_on(bootstrap, TOPIC).await {
            Ok(()) => return,
            Err(error) if Instant::now() > deadline => panic!("no topic after a restart: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sends `keys`, each until delivered; returns how many sends failed.
async fn send_all(producer: &TracedProducer, keys: Vec<String>) -> usize {
    let mut failures = 0;
    let mut pending = keys;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} messages never delivered",
            pending.len()
        );
        let sends = pending.iter().map(|key| {
            let record = FutureRecord::to(TOPIC).key(key.as_str()).payload("x");
            producer.send(record, Duration::from_secs(5))
        });
        let outcomes = futures::future::join_all(sends).await;
        pending = pending
            .into_iter()
            .zip(outcomes)
            .filter_map(|(key, outcome)| outcome.is_err().then_some(key))
            .collect();
        failures += pending.len();
    }
    failures
}

fn fresh_consumer(bootstrap: &str) -> TracedConsumer {
    let consumer: StreamConsumer = config(bootstrap)
        .set("group.id", "restarts")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("a consumer");
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(TOPIC, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&partitions).unwrap();
    TracedConsumer::new(consumer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "librdkafka 2.12.1 segfaults in its metadata cache after the restart (confluentinc/librdkafka#5280)"]
async fn a_broker_restart_mid_stream_loses_no_message() {
    installed();
    let mut broker = OwnedBroker::start().expect("a broker of this test's own");
    let bootstrap = broker.bootstrap().to_owned();
    topic_ready(&bootstrap).await;
    let producer = TracedProducer::from_config(&config(&bootstrap)).expect("a producer");
    let mut consumer = fresh_consumer(&bootstrap);

    let mut received: HashSet<String> = HashSet::with_capacity(MESSAGES);
    let mut failed_sends = 0;
    for batch in 0..MESSAGES / BATCH {
        let keys: Vec<String> = (batch * BATCH..(batch + 1) * BATCH)
            .map(|i| format!("m-{i}"))
            .collect();
        if batch == MESSAGES / BATCH / 2 {
            // Mid-stream: the broker goes away while this batch is being
            // sent, and comes back empty (its storage is in memory).
            broker.stop();
            let sending = send_all(&producer, keys.clone());
            let restart = async {
                tokio::time::sleep(Duration::from_millis(2_000)).await;
                broker.start_again().expect("the broker starts again");
                topic_ready(&bootstrap).await;
            };
            let (failures, ()) = tokio::join!(sending, restart);
            failed_sends += failures;
            // The old consumer's position is past the new, empty log.
            consumer = fresh_consumer(&bootstrap);
        } else {
            failed_sends += send_all(&producer, keys.clone()).await;
        }
        let mut wanted: HashSet<String> = keys.into_iter().collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !wanted.is_empty() {
            assert!(
                Instant::now() < deadline,
                "batch {batch}: {} messages missing",
                wanted.len()
            );
            let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await
            else {
                continue;
            };
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            consumer.process(&message, async {}).await;
            wanted.remove(&key);
            received.insert(key);
        }
    }
    assert_eq!(received.len(), MESSAGES, "every message, at least once");

    let (_, pipeline) = installed();
    pipeline.flush().unwrap();
    let failed_spans = finished_spans(|span| {
        span.name == format!("send {TOPIC}") && matches!(span.status, Status::Error { .. })
    });
    eprintln!("{failed_sends} sends failed while the broker was away and were sent again");
    assert_eq!(
        failed_spans.len(),
        failed_sends,
        "each failed send's span says so"
    );
    assert!(failed_spans.iter().all(|span| {
        span.attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type")
    }));
}
