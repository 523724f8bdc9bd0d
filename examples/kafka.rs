//! One trace through a Kafka topic: an order service publishes orders, a
//! billing consumer charges them, and the terminal draws the whole trace:
//! `place_orders` → `send orders` → `process orders` → `charge`.
//!
//! Run: `cargo run --example kafka -- 127.0.0.1:9092` (the address of a
//! Kafka-compatible broker; that one is the default). Without a broker, the
//! example prints how to start one on loopback.

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, TopicPartitionList};
use spanflow::trace;
use spanflow_kafka::{TracedConsumer, TracedProducer};

#[path = "common/kafka_setup.rs"]
mod kafka_setup;

const TOPIC: &str = "orders";
const ORDERS: [(&str, u64); 3] = [("o-1", 1999), ("o-2", 4550), ("o-3", 120)];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9092".to_owned());
    if !kafka_setup::answers(&broker) {
        kafka_setup::explain_missing_broker(&broker, "cargo run --example kafka -- 127.0.0.1:9092");
        std::process::exit(2);
    }

    let tracing = spanflow::pipeline!().install()?;
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &broker)
        .set("client.id", "order-service");
    let start = kafka_setup::create_topic(&config, TOPIC).await?;

    let producer = TracedProducer::from_config(&config)?;
    let consumer = TracedConsumer::from_config(
        config
            .clone()
            .set("group.id", "billing")
            .set("enable.auto.commit", "false"),
    )?;
    // Assigned from where this run's orders begin: a group rebalance
    // (subscribe) takes seconds, and earlier runs' orders are history.
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(TOPIC, 0, start)?;
    consumer.assign(&partitions)?;

    place_orders(&producer, &consumer).await?;
    tracing.shutdown()?;
    Ok(())
}

/// The request: publish every order, then wait until billing charged them
/// (so that the trace drawn is complete).
#[trace]
async fn place_orders(
    producer: &TracedProducer,
    consumer: &TracedConsumer,
) -> Result<(), Box<dyn std::error::Error>> {
    for (id, cents) in ORDERS {
        producer
            .send(
                FutureRecord::to(TOPIC).key(id).payload(&cents.to_string()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(error, _)| error)?;
    }
    for _ in ORDERS {
        let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv()).await??;
        let cents = message
            .payload_view::<str>()
            .and_then(Result::ok)
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        consumer.process(&message, charge(cents)).await;
    }
    Ok(())
}

#[trace(kind = client, args(cents))]
async fn charge(cents: u64) {
    tokio::time::sleep(Duration::from_millis(5 + cents % 7)).await;
}
