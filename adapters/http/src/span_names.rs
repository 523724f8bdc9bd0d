//! Span names made from a route or a gRPC method, once per thread.
//!
//! A server sees few routes and methods, each for every request. The span
//! name (`GET /users/{id}`, `shop.Cart/Add`) is kept for the process
//! ([`spanflow::interned_name`]) and the route or method, an attribute
//! value too, is shared (`Arc<str>`): made once per thread, they cost a
//! request nothing, where a `format!` and a copy cost two allocations on
//! the request's thread and two frees on the collector's. A gRPC path comes
//! from the client, so what a thread keeps is bounded in count and length;
//! past the bounds, names are made per request.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::StringValue;

/// The most routes or methods a thread keeps.
const KNOWN_SUBJECTS: usize = 512;

/// The longest route or method kept: a gRPC path is as long as the client
/// makes it, and what a thread keeps must stay small (a few hundred KB at
/// most: 512 subjects, each with its value and, for a gRPC method, one name).
const LONGEST_KEPT: usize = 200;

/// What a thread keeps of one route or method.
struct Subject {
    /// The route or method as an attribute value.
    value: Arc<str>,
    /// Its span names, by prefix (an HTTP method; none for gRPC): as many
    /// as there are methods.
    names: Vec<(Option<&'static str>, Cow<'static, str>)>,
}

impl Subject {
    /// The span name for `prefix` (made and kept the first time) and the
    /// value.
    fn named(
        &mut self,
        prefix: Option<&'static str>,
        subject: &str,
    ) -> (Cow<'static, str>, StringValue) {
        let name = match self.names.iter().find(|(known, _)| *known == prefix) {
            Some((_, name)) => name.clone(),
            None => {
                let name = spanflow::interned_name(&joined(prefix, subject));
                self.names.push((prefix, name.clone()));
                name
            }
        };
        (name, StringValue::from(Arc::clone(&self.value)))
    }
}

thread_local! {
    static KNOWN: RefCell<HashMap<Box<str>, Subject>> = RefCell::new(HashMap::new());
}

/// The span name `{prefix} {subject}` (`subject` alone without a prefix)
/// and `subject` as an attribute value.
pub(crate) fn span_name(
    prefix: Option<&'static str>,
    subject: &str,
) -> (Cow<'static, str>, StringValue) {
    let kept = KNOWN.try_with(|known| {
        // Busy only if naming re-entered: never, but no panic.
        let mut known = known.try_borrow_mut().ok()?;
        // One lookup for a subject seen before: the path of every request.
        if let Some(kept) = known.get_mut(subject) {
            return Some(kept.named(prefix, subject));
        }
        if known.len() >= KNOWN_SUBJECTS || subject.len() > LONGEST_KEPT {
            return None;
        }
        let kept = known.entry(subject.into()).or_insert_with(|| Subject {
            value: Arc::from(subject),
            names: Vec::new(),
        });
        Some(kept.named(prefix, subject))
    });
    kept.ok().flatten().unwrap_or_else(|| {
        (
            Cow::Owned(joined(prefix, subject)),
            StringValue::from(subject.to_owned()),
        )
    })
}

fn joined(prefix: Option<&str>, subject: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix} {subject}"),
        None => subject.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_seen_before_lends_its_name_and_value() {
        let (first, route) = span_name(Some("GET"), "/span-names/{id}");
        let (second, _) = span_name(Some("GET"), "/span-names/{id}");
        let (Cow::Borrowed(first), Cow::Borrowed(second)) = (first, second) else {
            panic!("names kept");
        };
        assert_eq!(first, "GET /span-names/{id}");
        assert!(std::ptr::eq(first, second));
        assert_eq!(route.as_str(), "/span-names/{id}");
        let (post, _) = span_name(Some("POST"), "/span-names/{id}");
        assert_eq!(post, "POST /span-names/{id}");
        let (grpc, method) = span_name(None, "span.Names/Get");
        assert_eq!(
            (grpc.as_ref(), method.as_str()),
            ("span.Names/Get", "span.Names/Get")
        );
    }

    #[test]
    fn subjects_past_the_bound_are_named_all_the_same() {
        for index in 0..KNOWN_SUBJECTS + 8 {
            let path = format!("bound.Tests/Call{index}");
            let (name, value) = span_name(None, &path);
            assert_eq!(
                (name.as_ref(), value.as_str()),
                (path.as_str(), path.as_str())
            );
        }
        assert!(KNOWN.with_borrow(HashMap::len) <= KNOWN_SUBJECTS);
    }

    #[test]
    fn long_subjects_are_named_but_not_kept() {
        let long = format!("long.Tests/{}", "x".repeat(LONGEST_KEPT));
        let (name, value) = span_name(None, &long);
        assert_eq!(
            (name.as_ref(), value.as_str()),
            (long.as_str(), long.as_str())
        );
        assert!(matches!(name, Cow::Owned(_)));
        assert_eq!(KNOWN.with_borrow(HashMap::len), 0);
    }
}
