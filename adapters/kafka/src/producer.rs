//! The producer side: a PRODUCER span per record, its context in the
//! record's headers, ended when the broker acknowledges the record.

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, MESSAGING_KAFKA_OFFSET, MESSAGING_OPERATION_TYPE,
};
use rdkafka::ClientConfig;
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::ToBytes;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::{DefaultRuntime, Timeout};
use spanflow::Span;

use crate::attributes::{partition_id, record_message_key, record_payload};
use crate::client_info::ClientInfo;
use crate::headers::inject_context;
use crate::identity::{Operation, identity};

/// A `FutureProducer` whose sends are traced.
///
/// [`send`](TracedProducer::send) starts a PRODUCER span `send {topic}`
/// under the current context, writes its context into the record's headers
/// (`traceparent`, `tracestate`, `baggage`; the record's other headers are
/// kept), and ends the span when the broker acknowledges the record or the
/// send fails. The span carries the messaging conventions:
/// `messaging.system`, `messaging.operation.name`/`.type`,
/// `messaging.destination.name`, `messaging.destination.partition.id`,
/// `messaging.kafka.offset`, `messaging.kafka.message.key` (when UTF-8),
/// `messaging.message.body.size` (or `messaging.kafka.message.tombstone`
/// for a record without a value), `messaging.client.id`,
/// `server.address`/`server.port`, and `error.type` on failure.
///
/// ```no_run
/// # async fn demo() -> rdkafka::error::KafkaResult<()> {
/// use rdkafka::ClientConfig;
/// use rdkafka::producer::FutureRecord;
/// use spanflow_kafka::TracedProducer;
///
/// let producer = TracedProducer::from_config(
///     ClientConfig::new().set("bootstrap.servers", "127.0.0.1:9092"),
/// )?;
/// let delivery = producer
///     .send(FutureRecord::to("orders").key("o-1").payload("{}"), std::time::Duration::from_secs(5))
///     .await
///     .map_err(|(error, _message)| error)?;
/// println!("stored at offset {}", delivery.offset);
/// # Ok(()) }
/// ```
pub struct TracedProducer<C = DefaultClientContext, R = DefaultRuntime>
where
    C: ClientContext + 'static,
{
    producer: FutureProducer<C, R>,
    client: ClientInfo,
}

impl TracedProducer {
    /// Creates the producer from `config`.
    pub fn from_config(config: &ClientConfig) -> KafkaResult<TracedProducer> {
        Ok(TracedProducer::new(config.create()?))
    }
}

impl<C, R> TracedProducer<C, R>
where
    C: ClientContext + 'static,
    R: rdkafka::util::AsyncRuntime,
{
    /// Traces the sends of `producer`.
    pub fn new(producer: FutureProducer<C, R>) -> Self {
        let client = ClientInfo::read(producer.client());
        TracedProducer { producer, client }
    }

    /// The producer, for everything but sending (flush, transactions).
    pub fn inner(&self) -> &FutureProducer<C, R> {
        &self.producer
    }

    /// The producer, untraced.
    pub fn into_inner(self) -> FutureProducer<C, R> {
        self.producer
    }

    /// Sends `record` as [`FutureProducer::send`] does, inside a PRODUCER
    /// span that ends with the delivery report. The record's headers gain
    /// this span's context (an unsampled trace still sends its trace id,
    /// sampled=0, so that the consumer agrees).
    pub async fn send<K, P, T>(
        &self,
        mut record: FutureRecord<'_, K, P>,
        queue_timeout: T,
    ) -> rdkafka::producer::future_producer::OwnedDeliveryResult
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
        T: Into<Timeout>,
    {
        // Named at its start, so that sampling rules see `send {topic}`.
        let mut span =
            Span::lazily_named(spanflow::library_callsite!("send", kind = producer), || {
                identity(Operation::Send, record.topic)
            });
        if span.is_recording() {
            self.record_send(&mut span, &record);
        }
        let mut headers = record.headers.take().unwrap_or_default();
        inject_context(&span.outgoing_context(), &mut headers);
        record.headers = Some(headers);

        let outcome = self.producer.send(record, queue_timeout).await;
        if span.is_recording() {
            match &outcome {
                Ok(delivery) => {
                    span.set_attribute(partition_id(delivery.partition));
                    span.set_attribute(KeyValue::new(MESSAGING_KAFKA_OFFSET, delivery.offset));
                }
                Err((error, _)) => record_kafka_error(&mut span, error),
            }
        }
        span.end();
        outcome
    }

    fn record_send<K, P>(&self, span: &mut Span, record: &FutureRecord<'_, K, P>)
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        span.set_attribute(KeyValue::new(MESSAGING_OPERATION_TYPE, "send"));
        if let Some(partition) = record.partition {
            span.set_attribute(partition_id(partition));
        }
        record_message_key(span, record.key.map(ToBytes::to_bytes));
        record_payload(span, record.payload.map(ToBytes::to_bytes));
        for attribute in self.client.attributes() {
            span.set_attribute(attribute);
        }
    }
}

/// `error.type` is librdkafka's error code name (`MessageTimedOut`,
/// `QueueFull`, ...): few values, and the ones operators search for.
pub(crate) fn record_kafka_error(span: &mut Span, error: &KafkaError) {
    let error_type = match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => "KafkaError".to_owned(),
    };
    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
    span.set_status(Status::error(error.to_string()));
}
