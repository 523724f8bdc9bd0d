//! `http::HeaderMap` carriers for OpenTelemetry propagators.
//!
//! opentelemetry-http's `HeaderExtractor` and `HeaderInjector` parse the
//! header name from a `&str` on every call, and the injector copies the
//! value into a new buffer; for the three names W3C propagation uses, these
//! carriers look up prebuilt names and hand the propagator's `String` to the
//! header map as it is. On this project's machine that takes a `traceparent`
//! inject from 113–118 to 78–83 ns, and reading the span context from
//! 101 to 90–92 ns (see `BENCHMARKS.md`). Values are read as UTF-8 text
//! rather than visible ASCII only; otherwise other names behave as
//! opentelemetry-http's do.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use spanflow::propagation::SingleLineExtractor;

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// The prebuilt name for `key` when it is one of W3C propagation's.
fn known(key: &str) -> Option<HeaderName> {
    match key {
        "traceparent" => Some(TRACEPARENT),
        "tracestate" => Some(TRACESTATE),
        "baggage" => Some(BAGGAGE),
        _ => None,
    }
}

/// Reads propagation headers from a request's or response's headers.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "traceparent",
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap(),
/// );
/// let propagator = spanflow::propagation::TraceContextPropagator::new();
/// let cx = propagator.extract(&spanflow_http::Headers(&headers));
/// assert!(cx.span().span_context().is_remote());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Headers<'a>(pub &'a HeaderMap);

impl Extractor for Headers<'_> {
    /// The first value of `key`, if it is text.
    fn get(&self, key: &str) -> Option<&str> {
        let value = match known(key) {
            Some(name) => self.0.get(name),
            None => self.0.get(key),
        };
        value.and_then(text)
    }

    /// Every header name present.
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// Every text value of `key`, in order; `None` when there is none.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = match known(key) {
            Some(name) => self.0.get_all(name),
            None => self.0.get_all(key),
        };
        let mut values = values.iter().peekable();
        values.peek()?;
        Some(values.filter_map(text).collect())
    }
}

/// A header's only line, so that spanflow's extract sees one
/// `traceparent` without `get_all`'s list
/// ([`Extracted::from_single_line`](spanflow::propagation::Extracted::from_single_line)).
impl SingleLineExtractor for Headers<'_> {
    fn single_line(&self, key: &str) -> Option<&str> {
        let values = match known(key) {
            Some(name) => self.0.get_all(name),
            None => self.0.get_all(key),
        };
        let mut values = values.iter();
        let first = values.next()?;
        values.next().is_none().then(|| text(first)).flatten()
    }
}

/// A header value as text when it is UTF-8. opentelemetry-http accepts
/// visible ASCII only (`HeaderValue::to_str`), checked a byte at a time;
/// `from_utf8` checks a word at a time (with the parser's byte-wise trim,
/// 1,294 → 1,222 instructions per `traceparent` extract in callgrind), and
/// every propagator parses the text it gets as untrusted.
fn text(value: &HeaderValue) -> Option<&str> {
    std::str::from_utf8(value.as_bytes()).ok()
}

/// Writes propagation headers into a request's or response's headers,
/// replacing earlier values of the same name. A name or value that is not
/// a valid header is left out, as opentelemetry-http's injector does.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
///
/// let mut headers = http::HeaderMap::new();
/// let propagator = spanflow::propagation::TraceContextPropagator::new();
/// let incoming = propagator.extract(&std::collections::HashMap::from([(
///     "traceparent".to_owned(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
/// )]));
/// propagator.inject_context(&incoming, &mut spanflow_http::HeadersMut(&mut headers));
/// assert_eq!(
///     headers["traceparent"],
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
/// );
/// ```
#[derive(Debug)]
pub struct HeadersMut<'a>(pub &'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = match known(key) {
            Some(name) => name,
            None => match HeaderName::from_bytes(key.as_bytes()) {
                Ok(name) => name,
                Err(_) => return,
            },
        };
        // Takes the string's buffer as it is: no copy.
        if let Ok(value) = HeaderValue::try_from(value) {
            self.0.insert(name, value);
        }
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_other_names_read_the_same_as_opentelemetry_http() {
        let mut headers = HeaderMap::new();
        headers.append("traceparent", HeaderValue::from_static("a"));
        headers.append("traceparent", HeaderValue::from_static("b"));
        headers.insert("x-other", HeaderValue::from_static("c"));
        headers.insert("baggage", HeaderValue::from_bytes(b"\xff").unwrap());
        let ours = Headers(&headers);
        let theirs = opentelemetry_http::HeaderExtractor(&headers);
        for key in [
            "traceparent",
            "tracestate",
            "baggage",
            "x-other",
            "X-Other",
            "absent",
        ] {
            assert_eq!(ours.get(key), theirs.get(key), "{key}");
            assert_eq!(ours.get_all(key), theirs.get_all(key), "{key}");
        }
        let mut keys = ours.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["baggage", "traceparent", "x-other"]);
    }

    #[test]
    fn injecting_replaces_and_skips_what_is_not_a_header() {
        let mut headers = HeaderMap::new();
        headers.append("tracestate", HeaderValue::from_static("old=1"));
        headers.append("tracestate", HeaderValue::from_static("old=2"));
        let mut carrier = HeadersMut(&mut headers);
        carrier.set("tracestate", "new=1".to_owned());
        carrier.set("X-Custom", "yes".to_owned());
        carrier.set("bad name", "skipped".to_owned());
        carrier.set("baggage", "line\nbreak".to_owned());
        let tracestate: Vec<_> = headers.get_all("tracestate").iter().collect();
        assert_eq!(tracestate, ["new=1"]);
        assert_eq!(headers["x-custom"], "yes");
        assert_eq!(headers.len(), 2);
    }
}
