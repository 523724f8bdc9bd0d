//! Values of the HTTP semantic-convention attributes, and the outcome of a
//! request as every HTTP span records it.

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD_ORIGINAL, HTTP_RESPONSE_STATUS_CODE,
};
use spanflow::Span;

use crate::known_methods::{KnownMethods, OTHER_METHOD};
use crate::span_options::Side;

/// `http.response.status_code`, and for a failed request `error.type` (the
/// code) and status Error: what the client and server spans of every
/// framework record. As the conventions say, a 5xx (or a code outside
/// 100–599) fails both spans, a 4xx only the client's (the server did its
/// job), and the status has no description, since the code says it all.
/// The code arrives as a number because actix-web's `StatusCode` is
/// another `http` major version's type.
pub(crate) fn record_response_status(span: &mut Span, code: u16, side: Side) {
    span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(code)));
    let failed = match code {
        100..=399 => false,
        400..=499 => matches!(side, Side::Client),
        _ => true,
    };
    if failed {
        span.set_attribute(KeyValue::new(ERROR_TYPE, code.to_string()));
        span.set_status(Status::error(""));
    }
}

/// `error.type` and status Error for a request that failed: no response, or
/// a response body that broke off.
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
pub(crate) fn record_failure(span: &mut Span, error_type: &'static str) {
    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
    span.set_status(Status::error(error_type));
}

/// The method as a span's name starts with it: `HTTP` in place of
/// `_OTHER`, as the conventions ask.
pub(crate) fn span_name_method(method: &'static str) -> &'static str {
    if method == OTHER_METHOD {
        "HTTP"
    } else {
        method
    }
}

/// `http.request.method_original`, the method as sent, when it is not
/// known (and `http.request.method` is `_OTHER`).
pub(crate) fn record_method_original(span: &mut Span, method: &str, known: &KnownMethods) {
    if known.name(method) == OTHER_METHOD {
        span.set_attribute(KeyValue::new(
            HTTP_REQUEST_METHOD_ORIGINAL,
            method.to_owned(),
        ));
    }
}

/// `network.protocol.version`.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn protocol_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// `url.scheme`: the usual schemes static, not copied per request, and
/// lower case whatever case a proxy's header used.
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) fn scheme_value(scheme: &str) -> opentelemetry::Value {
    if scheme.eq_ignore_ascii_case("http") {
        "http".into()
    } else if scheme.eq_ignore_ascii_case("https") {
        "https".into()
    } else {
        scheme.to_ascii_lowercase().into()
    }
}

/// `server.address` and `server.port` from a `Host` header (`shop.example`,
/// `shop.example:8080`, `[::1]:8080`); `None` for a value that is not a
/// host with an optional port. http's `Authority` parses the same, but
/// only from a copy of the header: this borrows it, since a server reads
/// the header on every request.
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) fn host_and_port(header: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match header.strip_prefix('[') {
        Some(literal) => {
            let end = literal.find(']')? + 2;
            let (host, rest) = header.split_at(end);
            let valid = host[1..end - 1]
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || matches!(byte, b':' | b'.'));
            if !valid || end == 2 {
                return None;
            }
            match rest {
                "" => (host, None),
                rest => (host, Some(rest.strip_prefix(':')?)),
            }
        }
        None => match header.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (header, None),
        },
    };
    // A registered name: unreserved characters, sub-delimiters and
    // percent-escapes (RFC 3986 §3.2.2), so no '@', '/', ':' or space.
    let name_byte = |byte: u8| {
        byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    };
    if host.is_empty() || (!host.starts_with('[') && !host.bytes().all(name_byte)) {
        return None;
    }
    match port {
        None | Some("") => Some((host, None)),
        Some(port) if port.bytes().all(|byte| byte.is_ascii_digit()) => {
            Some((host, port.parse().ok()))
        }
        Some(_) => None,
    }
}

#[cfg(all(test, any(feature = "tower", feature = "actix-web")))]
mod tests {
    use super::host_and_port;

    #[test]
    fn host_headers_give_host_and_port() {
        for (header, expected) in [
            ("shop.example", Some(("shop.example", None))),
            ("shop.example:8080", Some(("shop.example", Some(8080)))),
            ("shop.example:", Some(("shop.example", None))),
            ("127.0.0.1:80", Some(("127.0.0.1", Some(80)))),
            ("[::1]", Some(("[::1]", None))),
            ("[2001:db8::1]:443", Some(("[2001:db8::1]", Some(443)))),
            // A port past u16 is no port, as for http's `Authority`.
            ("shop.example:99999", Some(("shop.example", None))),
            ("", None),
            (":8080", None),
            ("[]:80", None),
            ("[::1", None),
            ("[::1]8080", None),
            ("[::1]:http", None),
            ("[zz::1]", None),
            ("user@shop.example", None),
            ("shop example", None),
            ("shop.example/path", None),
            ("shop.example:80:81", None),
            ("shop.example:port", None),
        ] {
            assert_eq!(host_and_port(header), expected, "{header:?}");
        }
    }
}
