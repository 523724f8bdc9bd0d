//! What names a Kafka span when it starts: `{operation} {topic}`, with the
//! operation and destination attributes; what sampling rules can match.
//!
//! A client handles many messages of few topics. What a span needs of its
//! topic (its name, the topic as an attribute value, the topic as a C
//! string for librdkafka) is made once per topic and thread and lent to
//! every span after: the name is kept for the process
//! ([`spanflow::interned_name`]), the topic is shared (`Arc<str>`), where
//! making them per message cost four allocations on the application thread
//! and as many frees on the collector's.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::sync::Arc;

use opentelemetry::{KeyValue, StringValue};
use opentelemetry_semantic_conventions::attribute::{
    MESSAGING_DESTINATION_NAME, MESSAGING_OPERATION_NAME,
};

/// The operations spans are named after.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operation {
    Send,
    Process,
    Poll,
}

impl Operation {
    const ALL: usize = 3;

    fn name(self) -> &'static str {
        match self {
            Operation::Send => "send",
            Operation::Process => "process",
            Operation::Poll => "poll",
        }
    }
}

/// The most topics a thread keeps: a bound for clients that meet topics
/// without end (a pattern subscription); past it, a topic's parts are made
/// per span again.
const KNOWN_TOPICS: usize = 64;

/// What spans need of one topic, made when first needed.
struct Topic {
    text: Arc<str>,
    /// `None` only for a name holding a NUL, which Kafka refuses anyway.
    c_text: Option<CString>,
    span_names: [Option<Cow<'static, str>>; Operation::ALL],
}

impl Topic {
    fn new(text: &str) -> Topic {
        Topic {
            text: text.into(),
            c_text: CString::new(text).ok(),
            span_names: Default::default(),
        }
    }
}

thread_local! {
    /// This thread's topics, searched in order: a thread meets few topics,
    /// and comparing a few short strings beats hashing one.
    static KNOWN: RefCell<Vec<Topic>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` on what this thread keeps of `topic`, made now if it is new
/// (and kept, within the bound).
fn with_topic<R>(topic: &str, read: impl Fn(&mut Topic) -> R) -> R {
    let kept = KNOWN.try_with(|known| {
        // Busy only if `read` itself met a topic: never, but no panic.
        let mut known = known.try_borrow_mut().ok()?;
        let index = match known.iter().position(|known| *known.text == *topic) {
            Some(index) => index,
            None if known.len() < KNOWN_TOPICS => {
                known.push(Topic::new(topic));
                known.len() - 1
            }
            None => return None,
        };
        Some(read(&mut known[index]))
    });
    // Not kept (past the bound, or the thread is being torn down): made
    // for this span alone.
    kept.ok()
        .flatten()
        .unwrap_or_else(|| read(&mut Topic::new(topic)))
}

/// The name and identifying attributes of an `operation` on `topic`.
pub(crate) fn identity(operation: Operation, topic: &str) -> (Cow<'static, str>, [KeyValue; 2]) {
    with_topic(topic, |topic| {
        let name = topic.span_names[operation as usize]
            .get_or_insert_with(|| {
                spanflow::interned_name(&format!("{} {}", operation.name(), topic.text))
            })
            .clone();
        let attributes = [
            KeyValue::new(MESSAGING_OPERATION_NAME, operation.name()),
            KeyValue::new(
                MESSAGING_DESTINATION_NAME,
                StringValue::from(Arc::clone(&topic.text)),
            ),
        ];
        (name, attributes)
    })
}

/// Runs `read` on `topic` as a C string (for librdkafka's functions taking
/// a topic's name); `None` for a name holding a NUL.
pub(crate) fn with_c_topic<R>(topic: &str, read: impl Fn(&CStr) -> R) -> Option<R> {
    with_topic(topic, |topic| topic.c_text.as_deref().map(&read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_seen_before_lends_its_name_and_value() {
        let (first, _) = identity(Operation::Process, "identity-tests");
        let (second, attributes) = identity(Operation::Process, "identity-tests");
        let (Cow::Borrowed(first), Cow::Borrowed(second)) = (first, second) else {
            panic!("names kept");
        };
        assert_eq!(first, "process identity-tests");
        assert!(std::ptr::eq(first, second));
        assert_eq!(
            attributes[0],
            KeyValue::new("messaging.operation.name", "process")
        );
        assert_eq!(attributes[1].value.as_str(), "identity-tests");
        let (send, _) = identity(Operation::Send, "identity-tests");
        assert_eq!(send, "send identity-tests");
        assert_eq!(
            with_c_topic("identity-tests", |c| c.to_owned()),
            Some(CString::new("identity-tests").unwrap())
        );
        assert_eq!(with_c_topic("nul\0inside", |_| ()), None);
    }

    #[test]
    fn topics_past_the_bound_are_named_all_the_same() {
        for index in 0..KNOWN_TOPICS + 8 {
            let topic = format!("bound-tests-{index}");
            let (name, attributes) = identity(Operation::Poll, &topic);
            assert_eq!(name, format!("poll {topic}"));
            assert_eq!(attributes[1].value.as_str(), topic);
        }
        assert!(KNOWN.with_borrow(Vec::len) <= KNOWN_TOPICS);
    }
}
