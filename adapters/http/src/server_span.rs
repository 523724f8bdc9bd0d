//! Opening the SERVER span of an incoming request, for every framework.

use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::{HTTP_REQUEST_METHOD, HTTP_ROUTE};
use spanflow::Span;
use spanflow::propagation::{Extracted, SingleLineExtractor};

use crate::attributes::span_name_method;
use crate::span_names::span_name;

/// Extracts the caller's context from `headers` through the global
/// propagator and starts a SERVER span under it (a new trace when the
/// headers carry none, or an invalid one), named `{method} {route}` (or
/// `{method}`; `HTTP` for a method the conventions do not name) with `http.request.method` and `http.route` from the start,
/// so that head-sampling rules can match them; `record` fills in the other
/// attributes, only when the span is recorded. The request's work runs in
/// the span's [`Span::in_scope`], so that what it adds to the current span
/// (log lines, `spanflow::current`) lands on the span.
pub(crate) fn start_server_span(
    headers: &dyn SingleLineExtractor,
    method: &'static str,
    route: Option<&str>,
    record: impl FnOnce(&mut Span),
) -> Span {
    // Not `Context::map_current`: a propagator of the user's may attach a
    // context while extracting, which would find the current one borrowed.
    let parent = Extracted::from_single_line(&Context::current(), headers);
    let callsite = spanflow::library_callsite!("HTTP request", kind = server);
    let method_attribute = || KeyValue::new(HTTP_REQUEST_METHOD, method);
    // Built only when a sampling rule must see them or the span records.
    let named = span_name_method(method);
    let mut span = match route {
        Some(route) => Span::with_parent_lazily_named(callsite, parent, || {
            let (name, route) = span_name(Some(named), route);
            (name, [method_attribute(), KeyValue::new(HTTP_ROUTE, route)])
        }),
        None => Span::with_parent_lazily_named(callsite, parent, || {
            (named.into(), [method_attribute()])
        }),
    };
    if span.is_recording() {
        record(&mut span);
    }
    span
}
