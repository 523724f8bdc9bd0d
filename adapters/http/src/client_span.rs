//! Opening the CLIENT span of an outgoing request, for every HTTP client.

use http::HeaderMap;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    HTTP_REQUEST_METHOD, NETWORK_PROTOCOL_VERSION,
};
use spanflow::Span;

use crate::attributes::{protocol_version, span_name_method};
use crate::carrier::HeadersMut;
use crate::known_methods::KnownMethods;

/// Starts a request's CLIENT span, named by its method when it starts, so
/// that sampling rules can match a request that starts a trace.
pub(crate) fn start_client_span(method: &http::Method, known: &KnownMethods) -> Span {
    let method = known.name(method.as_str());
    Span::lazily_named(
        spanflow::library_callsite!("HTTP client request", kind = client),
        || {
            (
                span_name_method(method).into(),
                [KeyValue::new(HTTP_REQUEST_METHOD, method)],
            )
        },
    )
}

/// `network.protocol.version`: the version the response came in, which
/// the client and server may have negotiated (ALPN), so the response's,
/// not the request's.
pub(crate) fn record_protocol_version(span: &mut Span, version: http::Version) {
    span.set_attribute(KeyValue::new(
        NETWORK_PROTOCOL_VERSION,
        protocol_version(version),
    ));
}

/// Puts the span's context (or, unsampled, a fresh parent id in the
/// current trace) into the request's headers through the global
/// propagator, and returns it: the context the request runs in.
pub(crate) fn send_context(span: &Span, headers: &mut HeaderMap) -> Context {
    let context = span.outgoing_context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeadersMut(headers))
    });
    context
}
