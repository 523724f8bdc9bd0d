//! A `HashMap<String, String>` carrier that does not allocate per lookup.

use std::collections::HashMap;
use std::hash::BuildHasher;

use opentelemetry::propagation::Extractor;

use super::SingleLineExtractor;

/// Reads propagation fields from a `HashMap<String, String>` whose keys are
/// lowercase, as OpenTelemetry's injectors write them.
///
/// It finds what OpenTelemetry's own `Extractor` impl for `HashMap` finds
/// (the lowercased key), without building that lowercase key: every field
/// name a propagator asks for is already lowercase, and the impl's new
/// `String` per lookup was a fifth of a `traceparent` extract (see
/// `BENCHMARKS.md`, "W3C `traceparent`").
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use spanflow::propagation::{StringMap, TraceContextPropagator};
///
/// let fields = HashMap::from([(
///     "traceparent".to_owned(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
/// )]);
/// let cx = TraceContextPropagator::new().extract(&StringMap(&fields));
/// assert!(cx.span().span_context().is_remote());
/// ```
#[derive(Debug)]
pub struct StringMap<'a, S = std::collections::hash_map::RandomState>(
    pub &'a HashMap<String, String, S>,
);

// Derived `Clone` / `Copy` would ask the same of `S`; a shared reference
// copies whatever its hasher.
impl<S> Clone for StringMap<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for StringMap<'_, S> {}

impl<S: BuildHasher> Extractor for StringMap<'_, S> {
    /// The value of `key` lowercased.
    fn get(&self, key: &str) -> Option<&str> {
        let value = if key.bytes().any(|byte| byte.is_ascii_uppercase()) || !key.is_ascii() {
            self.0.get(&key.to_lowercase())
        } else {
            self.0.get(key)
        };
        value.map(String::as_str)
    }

    /// Every key present.
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// A map holds one value per key: a field's value is its only line.
impl<S: BuildHasher> SingleLineExtractor for StringMap<'_, S> {
    fn single_line(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> HashMap<String, String> {
        HashMap::from([
            ("traceparent".to_owned(), "parent".to_owned()),
            ("größe".to_owned(), "unicode".to_owned()),
        ])
    }

    #[test]
    fn finds_what_opentelemetry_impl_finds() {
        let fields = fields();
        for key in [
            "traceparent",
            "TraceParent",
            "GRÖSSE",
            "Größe",
            "größe",
            "absent",
            "",
        ] {
            assert_eq!(
                StringMap(&fields).get(key),
                Extractor::get(&fields, key),
                "{key}"
            );
        }
        assert_eq!(StringMap(&fields).get("TRACEPARENT"), Some("parent"));
        assert_eq!(
            StringMap(&fields).get_all("traceparent"),
            Some(vec!["parent"])
        );
    }

    #[test]
    fn lists_every_key() {
        let fields = fields();
        let carrier = StringMap(&fields);
        let mut keys = carrier.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["größe", "traceparent"]);
    }
}
