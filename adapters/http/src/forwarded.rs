//! What proxies say of the original request: RFC 7239's `Forwarded`, else
//! the older `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For`.
//! The HTTP conventions take a server span's `url.scheme`,
//! `server.address` and `client.address` from them first: behind an
//! ingress or a load balancer, the request's own scheme, `Host` and peer
//! are the proxy's. (actix-web reads the same headers itself, in its
//! `ConnectionInfo`; the tower layer reads them here.)
//!
//! Hand-written because it is a few lines over borrowed header values, and
//! the crates that parse `Forwarded` build owned lists of every element
//! for what a span needs of the first one.

use http::HeaderMap;
use http::header::{FORWARDED, HeaderName};

// Names made at compile time: a lookup by `&str` would parse the name on
// every request, and most requests carry none of these headers.
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The original request as the proxy nearest the client saw it; each part
/// from `Forwarded` if it says it, else from its `X-Forwarded-*` header.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Forwarded<'a> {
    /// `proto`: the scheme the client used.
    pub(crate) proto: Option<&'a str>,
    /// `host`: the `Host` the client sent, with its port if any.
    pub(crate) host: Option<&'a str>,
    /// `for`: the client's address, without port or brackets; none when
    /// the proxy hides it (`unknown`, `_obfuscated`).
    pub(crate) client: Option<&'a str>,
}

impl<'a> Forwarded<'a> {
    /// What `headers` say of the original request.
    pub(crate) fn of(headers: &'a HeaderMap) -> Forwarded<'a> {
        let text = |name: &HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
        let mut seen = text(&FORWARDED).map(first_element).unwrap_or_default();
        // The first of a list is the one nearest the client.
        let first = |name: &HeaderName| {
            text(name)
                .and_then(|list| list.split(',').next())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        seen.proto = seen.proto.or_else(|| first(&X_FORWARDED_PROTO));
        seen.host = seen.host.or_else(|| first(&X_FORWARDED_HOST));
        seen.client = seen
            .client
            .or_else(|| first(&X_FORWARDED_FOR).and_then(bare_address));
        seen
    }
}

/// The first element of a `Forwarded` value (`for=192.0.2.60;proto=https,
/// for=10.0.0.1`): the proxy nearest the client.
fn first_element(value: &str) -> Forwarded<'_> {
    let mut seen = Forwarded::default();
    let mut rest = up_to_unquoted(value, ',');
    loop {
        let pair = up_to_unquoted(rest, ';');
        if let Some((name, value)) = pair.split_once('=') {
            let value = unquoted(value.trim());
            let name = name.trim();
            if name.eq_ignore_ascii_case("proto") {
                seen.proto.get_or_insert(value);
            } else if name.eq_ignore_ascii_case("host") {
                seen.host.get_or_insert(value);
            } else if name.eq_ignore_ascii_case("for")
                && let Some(address) = bare_address(value)
            {
                seen.client.get_or_insert(address);
            }
        }
        match rest.get(pair.len() + 1..) {
            Some(next) => rest = next,
            None => return seen,
        }
    }
}

/// `text` up to the first `separator` outside a quoted string.
fn up_to_unquoted(text: &str, separator: char) -> &str {
    let mut quoted = false;
    for (at, character) in text.char_indices() {
        if character == '"' {
            quoted = !quoted;
        } else if character == separator && !quoted {
            return &text[..at];
        }
    }
    text
}

fn unquoted(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|value| value.strip_suffix('"'))
        .unwrap_or(value)
}

/// A node's address without its port or an IPv6 address's brackets
/// (`192.0.2.60:47011`, `[2001:db8::17]:4711`, a bare `2001:db8::17`);
/// none for a hidden one (`unknown`, `_obfuscated`).
fn bare_address(node: &str) -> Option<&str> {
    let node = node.trim();
    let address = match node.strip_prefix('[') {
        Some(bracketed) => &bracketed[..bracketed.find(']')?],
        // One colon: a port after an IPv4 address or a name; more: IPv6.
        None if node.matches(':').count() == 1 => node.split(':').next()?,
        None => node,
    };
    let hidden =
        address.is_empty() || address.eq_ignore_ascii_case("unknown") || address.starts_with('_');
    (!hidden).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(headers: &[(&'static str, &'static str)]) -> Forwarded<'static> {
        let map: &'static HeaderMap = Box::leak(Box::new(
            headers
                .iter()
                .map(|(name, value)| {
                    (
                        http::HeaderName::from_static(name),
                        http::HeaderValue::from_static(value),
                    )
                })
                .collect(),
        ));
        Forwarded::of(map)
    }

    fn forwarded(
        proto: Option<&'static str>,
        host: Option<&'static str>,
        client: Option<&'static str>,
    ) -> Forwarded<'static> {
        Forwarded {
            proto,
            host,
            client,
        }
    }

    #[test]
    fn the_first_element_of_forwarded_wins_over_x_forwarded() {
        assert_eq!(seen(&[]), Forwarded::default());
        assert_eq!(
            seen(&[(
                "forwarded",
                "for=192.0.2.60;proto=https;host=shop.example:8443;by=203.0.113.43, for=10.0.0.1;proto=http"
            )]),
            forwarded(Some("https"), Some("shop.example:8443"), Some("192.0.2.60"))
        );
        assert_eq!(
            seen(&[
                ("forwarded", "For=\"[2001:db8:cafe::17]:4711\"; Proto=https"),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-host", "shop.example"),
                ("x-forwarded-for", "198.51.100.7, 10.0.0.1"),
            ]),
            forwarded(
                Some("https"),
                Some("shop.example"),
                Some("2001:db8:cafe::17")
            )
        );
        assert_eq!(
            seen(&[
                ("x-forwarded-proto", "https, http"),
                ("x-forwarded-for", " 198.51.100.7:1234 ,10.0.0.1"),
            ]),
            forwarded(Some("https"), None, Some("198.51.100.7"))
        );
    }

    #[test]
    fn hidden_and_malformed_parts_are_left_out() {
        assert_eq!(
            seen(&[("forwarded", "for=unknown;proto=https")]),
            forwarded(Some("https"), None, None)
        );
        assert_eq!(
            seen(&[("forwarded", "for=_hidden, for=192.0.2.60")]),
            forwarded(None, None, None),
            "only the nearest element counts"
        );
        assert_eq!(
            seen(&[("forwarded", "for=\"[2001:db8::1\";host=\"a;b\"")]),
            forwarded(None, Some("a;b"), None)
        );
        assert_eq!(
            seen(&[
                ("forwarded", ";;=;proto"),
                ("x-forwarded-for", "2001:db8::2")
            ]),
            forwarded(None, None, Some("2001:db8::2"))
        );
    }
}
