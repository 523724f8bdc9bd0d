//! Head-sampling rules see a Kafka span's name, `{operation} {topic}`, when
//! it starts a trace (real broker, Tansu on loopback).

mod support;

use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use spanflow::{Sampler, SamplingRules};
use support::{fresh_topic, names, next_message, plain_producer, traced_consumer, traced_producer};

const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_on_send_process_and_poll_names_decide_the_traces_they_start() {
    let noisy = fresh_topic("noisy").await;
    let kept = fresh_topic("kept").await;
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampling_rules(
            SamplingRules::new()
                .name(format!("send {noisy}"), Sampler::AlwaysOff)
                .name(format!("process {noisy}"), Sampler::AlwaysOff)
                .name(format!("poll {noisy}"), Sampler::AlwaysOff),
        )
        .install()
        .expect("the only pipeline of this binary");

    // Outside any trace: each send span is a root.
    let producer = traced_producer();
    for topic in [&noisy, &kept] {
        producer
            .send(
                FutureRecord::to(topic).key("k").payload("traced"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered");
    }
    // Without trace headers, so that processing starts a trace too.
    let plain = plain_producer();
    for topic in [&noisy, &kept] {
        plain
            .send(
                FutureRecord::to(topic).key("k").payload("plain"),
                SEND_TIMEOUT,
            )
            .await
            .expect("delivered");
    }

    for topic in [&noisy, &kept] {
        let consumer = traced_consumer(topic, "rules");
        let first = next_message(&consumer).await;
        let second = next_message(&consumer).await;
        assert_eq!(second.payload(), Some(&b"plain"[..]));
        consumer.process(&first, async {}).await;
        consumer.process(&second, async {}).await;
        consumer.process_batch(&[first, second], async {}).await;
    }

    pipeline.flush().expect("flushed");
    let spans = exporter.get_finished_spans().expect("in-memory exporter");
    let mut names = names(&spans);
    names.sort();
    assert_eq!(
        names,
        [
            format!("poll {kept}"),
            format!("process {kept}"),
            format!("process {kept}"),
            format!("send {kept}"),
        ],
        "every {noisy} trace is dropped by its rule (the traced message's \
         processing follows its unsampled send), every {kept} trace kept"
    );
}
