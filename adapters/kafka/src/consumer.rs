//! The consumer side: a CONSUMER span per message (child of, or linked to,
//! its producer's span), or one `poll` span per batch linking every
//! message; consumer lag and time in topic on each.

use std::future::IntoFuture;
use std::ops::Deref;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{
    MESSAGING_BATCH_MESSAGE_COUNT, MESSAGING_KAFKA_OFFSET, MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, ConsumerContext, DefaultConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::util::DefaultRuntime;
use rdkafka_sys as rdsys;
use rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
use spanflow::{Span, TracedExt};

use crate::attributes::{
    CONSUMER_LAG, TIME_IN_TOPIC_MS, partition_id, record_message_key, record_payload,
};
use crate::client_info::ClientInfo;
use crate::headers::{AsBorrowedHeaders, extract_parent};
use crate::identity::{Operation, identity, with_c_topic};

/// How a message's processing span relates to the span that produced it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProducerRelation {
    /// The producer's span is the parent: produce → process is one trace
    /// (the OpenTelemetry Java agent's default).
    #[default]
    Parent,
    /// Processing starts a new trace (under the consumer's current
    /// context, if any) with a link to the producer's span: for consumers
    /// whose work should not count against the producer's trace.
    Link,
}

/// A `StreamConsumer` whose messages are processed in traced spans.
///
/// It dereferences to the `StreamConsumer`, so `assign`, `subscribe`,
/// `recv`, `stream` and `commit` are used as always; what it adds is
/// [`process`](TracedConsumer::process) (one message) and
/// [`process_batch`](TracedConsumer::process_batch) (many).
///
/// Each message's span is a CONSUMER span `process {topic}` with
/// `messaging.system`, `messaging.operation.name`/`.type` = `process`,
/// `messaging.destination.name`, `messaging.destination.partition.id`,
/// `messaging.kafka.offset`, `messaging.kafka.message.key` (when UTF-8),
/// `messaging.message.body.size` (or `messaging.kafka.message.tombstone`
/// for a record without a value), `messaging.consumer.group.name`,
/// `messaging.client.id`, `server.address`/`server.port`, and this crate's
/// [`TIME_IN_TOPIC_MS`] and [`CONSUMER_LAG`].
///
/// ```no_run
/// # async fn demo() -> rdkafka::error::KafkaResult<()> {
/// use rdkafka::ClientConfig;
/// use rdkafka::consumer::Consumer;
/// use spanflow_kafka::TracedConsumer;
///
/// let consumer = TracedConsumer::from_config(
///     ClientConfig::new()
///         .set("bootstrap.servers", "127.0.0.1:9092")
///         .set("group.id", "billing"),
/// )?;
/// consumer.subscribe(&["orders"])?;
/// loop {
///     let message = consumer.recv().await?;
///     consumer.process(&message, async {
///         // handle the order: spans opened here are children of `process orders`
///     }).await;
/// }
/// # }
/// ```
pub struct TracedConsumer<C = DefaultConsumerContext, R = DefaultRuntime>
where
    C: ConsumerContext + 'static,
{
    consumer: StreamConsumer<C, R>,
    client: ClientInfo,
    relation: ProducerRelation,
}

impl TracedConsumer {
    /// Creates the consumer from `config`.
    pub fn from_config(config: &ClientConfig) -> KafkaResult<TracedConsumer> {
        Ok(TracedConsumer::new(config.create()?))
    }
}

impl<C, R> TracedConsumer<C, R>
where
    C: ConsumerContext + 'static,
{
    /// Traces the messages of `consumer`; group and client id are read
    /// from its configuration.
    pub fn new(consumer: StreamConsumer<C, R>) -> Self {
        let client = ClientInfo::read(consumer.client());
        TracedConsumer {
            consumer,
            client,
            relation: ProducerRelation::default(),
        }
    }

    /// How processing spans relate to the producer's span (default
    /// [`ProducerRelation::Parent`]).
    pub fn with_producer_relation(mut self, relation: ProducerRelation) -> Self {
        self.relation = relation;
        self
    }

    /// The consumer, untraced.
    pub fn into_inner(self) -> StreamConsumer<C, R> {
        self.consumer
    }

    /// Runs `handler` inside `message`'s processing span (see the type's
    /// docs); the span ends when the handler's future completes or is
    /// dropped. To mark a failure on the span, use
    /// [`process_span`](Self::process_span) and [`Span::record_error`].
    pub async fn process<M, H>(&self, message: &M, handler: H) -> H::Output
    where
        M: Message,
        M::Headers: AsBorrowedHeaders,
        H: IntoFuture,
    {
        let span = self.process_span(message);
        handler.into_future().in_span(span).await
    }

    /// The processing span of `message`, started now, not yet current:
    /// for handlers that run elsewhere (make it current with
    /// [`TracedExt::in_span`] or [`Span::in_scope`]).
    pub fn process_span<M>(&self, message: &M) -> Span
    where
        M: Message,
        M::Headers: AsBorrowedHeaders,
    {
        // Named at its start, so that sampling rules see `process {topic}`.
        let callsite = spanflow::library_callsite!("process", kind = consumer);
        let identify = || identity(Operation::Process, message.topic());
        let mut span = match self.relation {
            ProducerRelation::Parent => {
                Span::with_parent_lazily_named(callsite, extract_parent(message), identify)
            }
            ProducerRelation::Link => Span::lazily_named(callsite, identify),
        };
        if !span.is_recording() {
            return span;
        }
        if self.relation == ProducerRelation::Link
            && let Some(producer) = extract_parent(message)
        {
            span.add_link(producer.span_context());
        }
        span.set_attribute(KeyValue::new(MESSAGING_OPERATION_TYPE, "process"));
        self.record_message(&mut span, message);
        span
    }

    /// Runs `handler` inside one CONSUMER span `poll {topic}` for the whole
    /// batch, linked to every message's producer span, with
    /// `messaging.batch.message_count` (the consumer's current context, if
    /// any, is its parent).
    pub async fn process_batch<M, H>(&self, messages: &[M], handler: H) -> H::Output
    where
        M: Message,
        M::Headers: AsBorrowedHeaders,
        H: IntoFuture,
    {
        let span = self.batch_span(messages);
        handler.into_future().in_span(span).await
    }

    /// The span of a batch (see [`process_batch`](Self::process_batch)),
    /// started now, not yet current.
    pub fn batch_span<M>(&self, messages: &[M]) -> Span
    where
        M: Message,
        M::Headers: AsBorrowedHeaders,
    {
        let first_topic = messages.first().map(Message::topic);
        let one_topic =
            first_topic.filter(|&topic| messages.iter().all(|message| message.topic() == topic));
        let mut span =
            Span::lazily_named(spanflow::library_callsite!("poll", kind = consumer), || {
                match one_topic {
                    Some(topic) => {
                        let (name, attributes) = identity(Operation::Poll, topic);
                        (name, attributes.to_vec())
                    }
                    None => (
                        "poll".into(),
                        vec![KeyValue::new(MESSAGING_OPERATION_NAME, "poll")],
                    ),
                }
            });
        if !span.is_recording() {
            return span;
        }
        span.set_attribute(KeyValue::new(MESSAGING_OPERATION_TYPE, "receive"));
        span.set_attribute(KeyValue::new(
            MESSAGING_BATCH_MESSAGE_COUNT,
            messages.len() as i64,
        ));
        self.record_client(&mut span);
        for producer in messages.iter().filter_map(extract_parent) {
            span.add_link(producer.span_context());
        }
        span
    }

    fn record_message<M: Message>(&self, span: &mut Span, message: &M) {
        span.set_attribute(partition_id(message.partition()));
        span.set_attribute(KeyValue::new(MESSAGING_KAFKA_OFFSET, message.offset()));
        record_message_key(span, message.key());
        record_payload(span, message.payload());
        if let Some(created) = message.timestamp().to_millis() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as i64);
            span.set_attribute(KeyValue::new(TIME_IN_TOPIC_MS, (now - created).max(0)));
        }
        if let Some(lag) = self.consumer_lag(message) {
            span.set_attribute(KeyValue::new(CONSUMER_LAG, lag));
        }
        self.record_client(span);
    }

    fn record_client(&self, span: &mut Span) {
        for attribute in self.client.consumer_attributes() {
            span.set_attribute(attribute);
        }
    }

    /// High watermark − offset − 1, from librdkafka's cached watermark
    /// (updated by every fetch response; reading it takes a lock inside
    /// librdkafka, never a broker round trip). rdkafka exposes only the
    /// blocking query, hence the call into librdkafka here.
    fn consumer_lag<M: Message>(&self, message: &M) -> Option<i64> {
        let (found, high) = with_c_topic(message.topic(), |topic| {
            let (mut low, mut high) = (0i64, 0i64);
            // SAFETY: the client is live for `&self`; librdkafka writes the
            // two offsets and reads the NUL-terminated topic name.
            let found = unsafe {
                rdsys::rd_kafka_get_watermark_offsets(
                    self.consumer.client().native_ptr(),
                    topic.as_ptr(),
                    message.partition(),
                    &mut low,
                    &mut high,
                )
            };
            (found, high)
        })?;
        (found == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
            .then(|| (high - message.offset() - 1).max(0))
    }
}

impl<C, R> Deref for TracedConsumer<C, R>
where
    C: ConsumerContext + 'static,
{
    type Target = StreamConsumer<C, R>;

    fn deref(&self) -> &StreamConsumer<C, R> {
        &self.consumer
    }
}
