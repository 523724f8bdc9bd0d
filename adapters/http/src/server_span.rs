//! Opening the SERVER span of an incoming request, for every framework.

use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use spanflow::Span;

/// Extracts the caller's context from `headers` through the global
/// propagator and starts a SERVER span under it (a new trace when the
/// headers carry none, or an invalid one); `record` fills in the
/// attributes, only when the span is recorded. Returns the span and the
/// context the request's work runs in.
pub(crate) fn start_server_span(
    headers: &dyn Extractor,
    record: impl FnOnce(&mut Span),
) -> (Span, Context) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(headers));
    let mut span = Span::with_parent(spanflow::callsite!("HTTP request", kind = server), parent);
    if span.is_recording() {
        record(&mut span);
    }
    let context = span.context().cloned().unwrap_or_else(Context::current);
    (span, context)
}
