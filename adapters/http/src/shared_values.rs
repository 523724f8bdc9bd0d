//! Attribute values that requests repeat, shared once per thread.
//!
//! A server sees its own host name in every `Host` header and the same few
//! `User-Agent`s from its callers; a client calls the same few hosts. Each
//! such value is kept once per thread as an `Arc<str>` and shared with
//! every span that records it: a reference count instead of a copy, which
//! costs an allocation on the request's thread and a free on the
//! collector's. The values come from outside the program, so what a thread
//! keeps is bounded in count and length; past the bounds, values are copied
//! per request, as they would be without this store.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use opentelemetry::StringValue;

/// The most values a thread keeps.
const MOST_KEPT: usize = 256;

/// The longest value kept (user agents run to a few hundred bytes at most;
/// a longer one is copied per request): at most 64 KiB of values a thread.
const LONGEST_KEPT: usize = 256;

thread_local! {
    static KEPT: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
}

/// `value` as an attribute value: shared with earlier spans of this thread
/// when it was seen before (or now, within the bounds), copied otherwise.
pub(crate) fn shared_value(value: &str) -> StringValue {
    let kept = KEPT.try_with(|kept| {
        // Busy only if recording re-entered: never, but no panic.
        let mut kept = kept.try_borrow_mut().ok()?;
        if let Some(known) = kept.get(value) {
            return Some(Arc::clone(known));
        }
        if kept.len() >= MOST_KEPT || value.len() > LONGEST_KEPT {
            return None;
        }
        let known: Arc<str> = Arc::from(value);
        kept.insert(Arc::clone(&known));
        Some(known)
    });
    match kept {
        Ok(Some(known)) => StringValue::from(known),
        _ => StringValue::from(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_seen_before_is_shared() {
        let first = shared_value("shared.example");
        let second = shared_value("shared.example");
        assert_eq!(second.as_str(), "shared.example");
        assert!(std::ptr::eq(first.as_str(), second.as_str()));
        assert_eq!(shared_value("other.example").as_str(), "other.example");
    }

    #[test]
    fn values_past_the_bounds_are_copied() {
        let long = "x".repeat(LONGEST_KEPT + 1);
        let copied = shared_value(&long);
        assert_eq!(copied.as_str(), long);
        assert!(!std::ptr::eq(copied.as_str(), shared_value(&long).as_str()));
        assert_eq!(KEPT.with_borrow(HashSet::len), 0);

        for index in 0..MOST_KEPT + 8 {
            let agent = format!("agent/{index}");
            assert_eq!(shared_value(&agent).as_str(), agent);
        }
        assert_eq!(KEPT.with_borrow(HashSet::len), MOST_KEPT);
        let past = shared_value("agent/late");
        assert!(!std::ptr::eq(
            past.as_str(),
            shared_value("agent/late").as_str()
        ));
    }
}
