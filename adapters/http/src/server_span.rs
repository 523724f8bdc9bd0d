//! Opening the SERVER span of an incoming request, for every framework.

use opentelemetry::KeyValue;
use opentelemetry::propagation::Extractor;
use opentelemetry_semantic_conventions::attribute::{HTTP_REQUEST_METHOD, HTTP_ROUTE};
use spanflow::Span;

/// Extracts the caller's context from `headers` through the global
/// propagator and starts a SERVER span under it (a new trace when the
/// headers carry none, or an invalid one), named `{method} {route}` (or
/// `{method}`) with `http.request.method` and `http.route` from the start,
/// so that head-sampling rules can match them; `record` fills in the other
/// attributes, only when the span is recorded. The request's work runs in
/// the span's [`Span::in_scope`], so that what it adds to the current span
/// (log lines, `spanflow::current`) lands on the span.
pub(crate) fn start_server_span(
    headers: &dyn Extractor,
    method: &'static str,
    route: Option<String>,
    record: impl FnOnce(&mut Span),
) -> Span {
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(headers));
    // Built only when a sampling rule must see it or the span records.
    let identify = || {
        let name = match &route {
            Some(route) => format!("{method} {route}").into(),
            None => method.into(),
        };
        let mut identity = vec![KeyValue::new(HTTP_REQUEST_METHOD, method)];
        if let Some(route) = route {
            identity.push(KeyValue::new(HTTP_ROUTE, route));
        }
        (name, identity)
    };
    let mut span = Span::with_parent_lazily_named(
        spanflow::callsite!("HTTP request", kind = server),
        parent,
        identify,
    );
    if span.is_recording() {
        record(&mut span);
    }
    span
}
