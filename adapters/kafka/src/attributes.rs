//! Attribute keys of this crate, beyond the messaging conventions, and the
//! values of the conventions' message attributes.

use std::sync::LazyLock;

use opentelemetry::{KeyValue, StringValue};
use opentelemetry_semantic_conventions::attribute::{
    MESSAGING_DESTINATION_PARTITION_ID, MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_KAFKA_MESSAGE_TOMBSTONE, MESSAGING_MESSAGE_BODY_SIZE,
};
use spanflow::Span;

/// How long the message was in the topic before this consumer processed
/// it, in milliseconds: now − the message's timestamp (Kafka timestamps are
/// milliseconds). Clock skew between producer and consumer hosts shows
/// here; a negative difference is recorded as 0.
pub const TIME_IN_TOPIC_MS: &str = "spanflow.kafka.time_in_topic_ms";

/// The partition's consumer lag when the message was processed: the high
/// watermark − the message's offset − 1, from the watermark librdkafka
/// caches with every fetch (no broker round trip per message). Absent
/// until the first fetch answered one.
pub const CONSUMER_LAG: &str = "spanflow.kafka.consumer_lag";

/// `messaging.kafka.message.key`, when the key is UTF-8 text (a binary key
/// has no faithful string form, and a lossy one would mislead a search).
pub(crate) fn record_message_key(span: &mut Span, key: Option<&[u8]>) {
    if let Some(key) = key.and_then(|key| std::str::from_utf8(key).ok()) {
        span.set_attribute(KeyValue::new(MESSAGING_KAFKA_MESSAGE_KEY, key.to_owned()));
    }
}

/// `messaging.message.body.size`, or for a record without a value (a
/// tombstone, which log compaction reads as a deletion of its key)
/// `messaging.kafka.message.tombstone`, which the conventions record only
/// when true.
pub(crate) fn record_payload(span: &mut Span, payload: Option<&[u8]>) {
    match payload {
        Some(payload) => span.set_attribute(KeyValue::new(
            MESSAGING_MESSAGE_BODY_SIZE,
            payload.len() as i64,
        )),
        None => span.set_attribute(KeyValue::new(MESSAGING_KAFKA_MESSAGE_TOMBSTONE, true)),
    }
}

/// `messaging.destination.partition.id`: a string by the conventions. The
/// ids below 256 are made once and lent to every span (a topic rarely has
/// more partitions), the others per span.
pub(crate) fn partition_id(partition: i32) -> KeyValue {
    /// Kept for the process, as a `static` string is.
    static SMALL_IDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        (0..256)
            .map(|id: u16| -> &'static str { Box::leak(id.to_string().into_boxed_str()) })
            .collect()
    });
    let value = match usize::try_from(partition)
        .ok()
        .and_then(|id| SMALL_IDS.get(id))
    {
        Some(&id) => StringValue::from(id),
        None => StringValue::from(partition.to_string()),
    };
    KeyValue::new(MESSAGING_DESTINATION_PARTITION_ID, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_ids_are_their_decimal_text() {
        for partition in [0, 7, 255, 256, 4_096, -1] {
            assert_eq!(
                partition_id(partition),
                KeyValue::new(MESSAGING_DESTINATION_PARTITION_ID, partition.to_string())
            );
        }
    }
}
