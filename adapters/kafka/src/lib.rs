//! spanflow for Kafka (rdkafka): one trace from the producer, through the
//! topic, into the consumer's work.
//!
//! * [`TracedProducer`] wraps a `FutureProducer`: each send is a PRODUCER
//!   span `send {topic}` whose context travels in the record's headers as
//!   W3C `traceparent` / `tracestate` / `baggage` (the bytes the Java, Go
//!   and Python instrumentations write and read), ending with the delivery
//!   report.
//! * [`TracedConsumer`] wraps a `StreamConsumer`: each message is processed
//!   in a CONSUMER span `process {topic}` whose parent is the producer's
//!   span (or which links to it, [`ProducerRelation::Link`]); a batch is one
//!   `poll` span linking every message. Consumer lag and time in topic are
//!   recorded on each message's span.
//! * Spans are named, with `messaging.operation.name` and
//!   `messaging.destination.name`, when they start, so that
//!   [`SamplingRules`](spanflow::SamplingRules) can match a send or a
//!   message that starts a trace (`.name("process audit", Sampler::AlwaysOff)`);
//!   an unsampled span builds neither name nor attributes.
//! * [`HeaderInjector`] / [`HeaderExtractor`] are the carriers, for code
//!   that produces or consumes by other means: every header is read as
//!   bytes, so non-UTF-8 keys or values from the broker never panic (they
//!   count as absent).
//!
//! ```no_run
//! # async fn demo() -> rdkafka::error::KafkaResult<()> {
//! use rdkafka::ClientConfig;
//! use rdkafka::consumer::Consumer;
//! use rdkafka::producer::FutureRecord;
//! use spanflow_kafka::{TracedConsumer, TracedProducer};
//!
//! let mut config = ClientConfig::new();
//! config.set("bootstrap.servers", "127.0.0.1:9092");
//! let producer = TracedProducer::from_config(&config)?;
//! producer
//!     .send(FutureRecord::to("orders").key("o-1").payload("{}"), std::time::Duration::from_secs(5))
//!     .await
//!     .map_err(|(error, _)| error)?;
//!
//! let consumer = TracedConsumer::from_config(config.clone().set("group.id", "billing"))?;
//! consumer.subscribe(&["orders"])?;
//! let message = consumer.recv().await?;
//! consumer.process(&message, async { /* same trace as the send */ }).await;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod attributes;
mod client_info;
mod consumer;
mod headers;
mod identity;
mod producer;

pub use consumer::{ProducerRelation, TracedConsumer};
pub use headers::{
    AsBorrowedHeaders, HeaderExtractor, HeaderInjector, extract_context, inject_context,
};
pub use producer::TracedProducer;
