//! Values of the HTTP semantic-convention attributes, and the outcome of a
//! request as every HTTP span records it.

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use opentelemetry_semantic_conventions::attribute::{ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE};
use spanflow::Span;

/// `http.response.status_code`, and for a 5xx `error.type` (the code) and
/// status Error: what the client and server spans of every framework record.
/// The code arrives as a number because actix-web's `StatusCode` is another
/// `http` major version's type.
pub(crate) fn record_response_status(span: &mut Span, code: u16, reason: Option<&str>) {
    span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(code)));
    if (500..600).contains(&code) {
        span.set_attribute(KeyValue::new(ERROR_TYPE, code.to_string()));
        let description = match reason {
            Some(reason) => format!("{code} {reason}"),
            None => code.to_string(),
        };
        span.set_status(Status::error(description));
    }
}

/// `error.type` and status Error for a request that failed: no response, or
/// a response body that broke off.
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
pub(crate) fn record_failure(span: &mut Span, error_type: &'static str) {
    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
    span.set_status(Status::error(error_type));
}

/// The method as the conventions spell it: the known methods as they are,
/// anything else `_OTHER` (a client may send arbitrary methods, and an
/// unbounded set of span names would break every backend's grouping).
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn method_name(method: &http::Method) -> &'static str {
    method_name_str(method.as_str())
}

/// [`method_name`] for frameworks with their own method type (actix-web).
pub(crate) fn method_name_str(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}

/// `network.protocol.version`.
#[cfg(feature = "tower")]
pub(crate) fn protocol_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
