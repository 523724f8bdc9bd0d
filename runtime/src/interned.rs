//! Names made at run time, kept for the rest of the process (see
//! [`interned_name`]). The adapters look a span name up here once per
//! topic, route or method a thread meets, and the `log` bridge a record's
//! key once per key, and keep what they got.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

/// The most names kept.
const MAX_NAMES: usize = 4_096;

/// The most bytes of names kept.
const MAX_BYTES: usize = 256 * 1024;

/// The longest name kept: a few long names must not take the room of
/// many short ones.
const LONGEST: usize = 512;

static KEPT: LazyLock<Mutex<Store>> =
    LazyLock::new(|| Mutex::new(Store::new(MAX_NAMES, MAX_BYTES)));

/// `name`, kept for the rest of the process: lent (`Cow::Borrowed`) once
/// kept, copied (`Cow::Owned`) once the store is full (4,096 names or 256
/// KiB of them: names can come from outside the program, a topic or the
/// path a gRPC client sent) and for a name longer than 512 bytes.
///
/// For span names made at run time (`process orders`, `GET /orders/{id}`):
/// a kept name costs a span nothing, where a `String` is an allocation on
/// the span's thread and a free on the collector's.
///
/// Each call takes a process-wide lock and hashes `name`: call it once per
/// distinct name (when a topic or route is first seen) and keep the result,
/// not once per span.
///
/// ```
/// use std::borrow::Cow;
///
/// let topic = String::from("orders");
/// let name = spanflow::interned_name(&format!("process {topic}"));
/// assert_eq!(name, "process orders");
/// assert!(matches!(name, Cow::Borrowed(_)));
/// ```
pub fn interned_name(name: &str) -> Cow<'static, str> {
    KEPT.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .intern(name)
}

/// Names kept within bounds.
struct Store {
    names: HashSet<&'static str>,
    bytes: usize,
    max_names: usize,
    max_bytes: usize,
}

impl Store {
    fn new(max_names: usize, max_bytes: usize) -> Store {
        Store {
            names: HashSet::new(),
            bytes: 0,
            max_names,
            max_bytes,
        }
    }

    fn intern(&mut self, name: &str) -> Cow<'static, str> {
        if let Some(&known) = self.names.get(name) {
            return Cow::Borrowed(known);
        }
        if self.names.len() >= self.max_names
            || name.len() > LONGEST
            || self.bytes + name.len() > self.max_bytes
        {
            return Cow::Owned(name.to_owned());
        }
        // Leaked on purpose: the store lends its names for `'static`, as a
        // `static` span name is lent, and never takes them back.
        let known: &'static str = Box::leak(name.into());
        self.names.insert(known);
        self.bytes += known.len();
        Cow::Borrowed(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_is_lent_twice_from_one_copy() {
        let first = interned_name("process interned-tests-topic");
        let second = interned_name(&String::from("process interned-tests-topic"));
        let (Cow::Borrowed(first), Cow::Borrowed(second)) = (first, second) else {
            panic!("both kept");
        };
        assert_eq!(first, "process interned-tests-topic");
        assert!(std::ptr::eq(first, second));
    }

    #[test]
    fn names_past_either_bound_are_copied_not_kept() {
        let mut store = Store::new(3, 12);
        assert!(matches!(store.intern("send a"), Cow::Borrowed("send a")));
        // 6 + 7 bytes: past the byte bound.
        assert!(matches!(store.intern("send bc"), Cow::Owned(ref name) if name == "send bc"));
        assert!(matches!(store.intern("b"), Cow::Borrowed("b")));
        assert!(matches!(store.intern("c"), Cow::Borrowed("c")));
        // Three names: past the count bound, whatever the length.
        assert!(matches!(store.intern("d"), Cow::Owned(ref name) if name == "d"));
        assert_eq!((store.names.len(), store.bytes), (3, 8));
        // Names kept before the store filled are still lent.
        assert!(matches!(store.intern("send a"), Cow::Borrowed("send a")));
    }

    #[test]
    fn a_name_longer_than_the_longest_kept_is_copied() {
        let mut store = Store::new(MAX_NAMES, MAX_BYTES);
        let longest = "x".repeat(LONGEST);
        assert!(matches!(store.intern(&longest), Cow::Borrowed(_)));
        let longer = "y".repeat(LONGEST + 1);
        assert!(matches!(store.intern(&longer), Cow::Owned(ref name) if *name == longer));
        assert_eq!((store.names.len(), store.bytes), (1, LONGEST));
    }
}
