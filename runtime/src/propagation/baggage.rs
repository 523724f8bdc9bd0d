//! W3C Baggage: the `baggage` header, to the letter of the specification.

use std::fmt::Write as _;
use std::sync::LazyLock;

use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

/// The `baggage` header name.
pub const BAGGAGE: &str = "baggage";

/// The most bytes of `baggage` header spanflow sends: the specification's
/// minimum, which every receiver must accept whole.
pub const MAX_HEADER_BYTES: usize = 8192;

static FIELDS: LazyLock<[String; 1]> = LazyLock::new(|| [BAGGAGE.to_owned()]);

/// Injects and extracts W3C Baggage.
///
/// Extraction merges every `baggage` header line, trims optional white
/// space, checks keys (RFC 7230 tokens), values and properties against the
/// grammar, percent-decodes values as UTF-8 (invalid sequences become
/// U+FFFD), and drops invalid members one by one, as the specification
/// allows; up to 64 members and 8,192 bytes are kept (OpenTelemetry's
/// `Baggage` limits, the specification's minimums), whole members only.
/// Injection percent-encodes values and sends whole members while the header
/// stays within 8,192 bytes.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::propagation::TextMapPropagator;
///
/// let propagator = spanflow::propagation::BaggagePropagator::new();
/// let mut headers = HashMap::new();
/// headers.insert("baggage".to_owned(), "tenant.id = acme, region=eu%20west;ttl=30".to_owned());
/// let cx = propagator.extract(&headers);
/// assert_eq!(cx.baggage().get("region").map(|v| v.as_str()), Some("eu west"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BaggagePropagator {
    _private: (),
}

impl BaggagePropagator {
    /// The propagator.
    pub const fn new() -> Self {
        BaggagePropagator { _private: () }
    }
}

impl TextMapPropagator for BaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let baggage = cx.baggage();
        if baggage.is_empty() {
            return;
        }
        let header = encode(baggage);
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(lines) = extractor.get_all(BAGGAGE) else {
            return cx.clone();
        };
        let baggage = parse(lines);
        if baggage.is_empty() {
            cx.clone()
        } else {
            cx.with_baggage(baggage)
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// Every valid member of every line; OpenTelemetry's `Baggage` refuses
/// members past its limits whole.
pub(crate) fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Baggage {
    let mut baggage = Baggage::new();
    for line in lines {
        for member in line.split(',') {
            if let Some((key, value, properties)) = parse_member(member) {
                baggage.insert_with_metadata(key.to_owned(), value, properties);
            }
        }
    }
    baggage
}

/// `key OWS "=" OWS value *( OWS ";" OWS property )`, trimmed, or `None`.
fn parse_member(member: &str) -> Option<(&str, String, String)> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (trim(key), trim(value));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let value = percent_decode(value)?;
    let mut properties = String::new();
    for property in parts {
        let property = trim(property);
        let valid = match property.split_once('=') {
            Some((key, value)) => is_token(trim(key)) && trim(value).bytes().all(is_baggage_octet),
            None => is_token(property),
        };
        if !valid {
            return None;
        }
        if !properties.is_empty() {
            properties.push(';');
        }
        match property.split_once('=') {
            Some((key, value)) => {
                let _ = write!(properties, "{}={}", trim(key), trim(value));
            }
            None => properties.push_str(property),
        }
    }
    Some((key, value, properties))
}

/// Whole members, sorted by key for a stable header, while it stays within
/// [`MAX_HEADER_BYTES`].
pub(crate) fn encode(baggage: &Baggage) -> String {
    let mut entries: Vec<_> = baggage.iter().collect();
    entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut header = String::new();
    for (key, (value, metadata)) in entries {
        if !is_token(key.as_str()) {
            continue;
        }
        let mut member = format!("{}={}", key.as_str(), percent_encode(value.as_str()));
        if !metadata.as_str().is_empty() {
            member.push(';');
            member.push_str(metadata.as_str());
        }
        let separator = usize::from(!header.is_empty());
        if header.len() + separator + member.len() > MAX_HEADER_BYTES {
            continue;
        }
        if separator == 1 {
            header.push(',');
        }
        header.push_str(&member);
    }
    header
}

fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// RFC 7230 `token`: one or more `tchar`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`
fn is_baggage_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// Decodes `%XY` sequences; a `%` not followed by two hex digits makes the
/// value invalid. Bytes that are not UTF-8 become U+FFFD, as the
/// specification requires.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(text, 16).ok()?);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    Some(String::from_utf8_lossy(&decoded).into_owned())
}

/// Encodes every byte that is not a baggage octet, and `%` itself.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if is_baggage_octet(byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(header: &[&str]) -> Vec<(String, String, String)> {
        let baggage = parse(header.iter().copied());
        let mut entries: Vec<_> = baggage
            .iter()
            .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn the_specifications_examples() {
        let e = |k: &str, v: &str, m: &str| (k.to_owned(), v.to_owned(), m.to_owned());
        assert_eq!(
            entries(&[
                "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue"
            ]),
            [
                e("key1", "value1", "property1;property2"),
                e("key2", "value2", ""),
                e("key3", "value3", "propertyKey=propertyValue"),
            ]
        );
        assert_eq!(
            entries(&["userId=alice", "serverNode=DF%2028,isProduction=false"]),
            [
                e("isProduction", "false", ""),
                e("serverNode", "DF 28", ""),
                e("userId", "alice", "")
            ]
        );
        assert_eq!(
            entries(&[
                "userId =   alice",
                "serverNode = DF%2028, isProduction = false"
            ])
            .len(),
            3
        );
    }

    #[test]
    fn values_may_hold_equal_signs_and_invalid_members_are_dropped_alone() {
        let found = entries(&["a=b=c, bad key=1, c=\"quoted\", d=ok, e=%zz, f=%C3%A9"]);
        let keys: Vec<&str> = found.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "d", "f"]);
        assert_eq!(found[0].1, "b=c");
        assert_eq!(found[2].1, "é", "percent-encoded UTF-8");
        assert_eq!(
            entries(&["x=%FF"])[0].1,
            "\u{FFFD}",
            "invalid UTF-8 becomes U+FFFD"
        );
    }

    #[test]
    fn encoding_round_trips_and_never_sends_a_partial_member() {
        // A raw space is not a baggage octet: on the wire it is invalid...
        assert!(parse(["tenant=acme corp"]).is_empty());
        // ...but a value set in code may hold one, and is encoded.
        let mut original = parse(["flags=a%2Cb;ttl=3,pct=100%25"]);
        original.insert("tenant", "acme corp");
        let header = encode(&original);
        assert_eq!(header, "flags=a%2Cb;ttl=3,pct=100%25,tenant=acme%20corp");
        let again = parse([header.as_str()]);
        assert_eq!(again.get("tenant").map(|v| v.as_str()), Some("acme corp"));

        let mut big = Baggage::new();
        for i in 0..40 {
            big.insert(format!("k{i:02}"), "v".repeat(200));
        }
        let header = encode(&big);
        assert!(header.len() <= MAX_HEADER_BYTES);
        for member in header.split(',') {
            assert_eq!(member.len(), 4 + 200, "whole members only: {member}");
        }
    }

    #[test]
    fn at_least_64_members_and_8192_bytes_are_kept() {
        let members: Vec<String> = (0..64).map(|i| format!("key{i}=value{i}")).collect();
        assert_eq!(parse([members.join(",").as_str()]).len(), 64);
        let wide = format!("big={}", "x".repeat(8000));
        assert_eq!(parse([wide.as_str()]).len(), 1);
    }
}
