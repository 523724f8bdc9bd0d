//! What names a Kafka span when it starts: `{operation} {topic}`, with the
//! operation and destination attributes; what sampling rules can match.

use std::borrow::Cow;

use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{
    MESSAGING_DESTINATION_NAME, MESSAGING_OPERATION_NAME,
};

/// The name and identifying attributes of an `operation` on `topic`.
pub(crate) fn identity(operation: &'static str, topic: &str) -> (Cow<'static, str>, Vec<KeyValue>) {
    (
        format!("{operation} {topic}").into(),
        vec![
            KeyValue::new(MESSAGING_OPERATION_NAME, operation),
            KeyValue::new(MESSAGING_DESTINATION_NAME, topic.to_owned()),
        ],
    )
}
