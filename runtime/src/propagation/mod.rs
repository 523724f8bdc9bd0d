//! W3C Trace Context propagation, to the letter of the specification.
//!
//! OpenTelemetry's `TraceContextPropagator` masks the random flag, accepts
//! fields of the wrong length, reads only the first `tracestate` line and
//! keeps empty members; [`TraceContextPropagator`] here does what the
//! specification says, and is faster (see `BENCHMARKS.md`).
//! [`BaggagePropagator`] does the same for W3C Baggage (percent-encoding,
//! properties, whole members within the limits). [`Extracted`] reads what a
//! carrier sends as the parent of the span that handles it, without the
//! `Context` of its own an extract through OpenTelemetry's trait makes,
//! and, from a [`SingleLineExtractor`], without the list
//! `Extractor::get_all` collects to see one `traceparent`.

use std::sync::LazyLock;

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};

#[cfg(feature = "b3")]
mod b3;
mod baggage;
mod extracted;
mod installed;
mod map;
mod single_line;
mod traceparent;
mod tracestate;

#[cfg(feature = "b3")]
pub use b3::B3Propagator;
pub use baggage::{BAGGAGE, BaggagePropagator, MAX_HEADER_BYTES};
pub use extracted::Extracted;
pub(crate) use installed::W3cPropagators;
pub use map::StringMap;
pub use single_line::SingleLineExtractor;
pub use traceparent::RANDOM_FLAG;

/// The `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";

static FIELDS: LazyLock<[String; 2]> =
    LazyLock::new(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]);

/// Injects and extracts `traceparent` and `tracestate`.
///
/// Extraction rules: a `traceparent` that is not exactly valid (see the
/// specification, Level 2), or that appears twice, is ignored together with
/// `tracestate`, so the request starts a new trace; `tracestate` lines are
/// merged in order and dropped whole if any member is invalid. Injection
/// writes lowercase header names, version `00`, and only the sampled and
/// random flags.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
///
/// let propagator = spanflow::propagation::TraceContextPropagator::new();
/// let mut headers = HashMap::new();
/// headers.insert(
///     "traceparent".to_owned(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".to_owned(),
/// );
/// let cx = propagator.extract(&headers);
/// assert!(cx.span().span_context().is_remote());
///
/// let mut out = HashMap::new();
/// propagator.inject_context(&cx, &mut out);
/// assert_eq!(out["traceparent"], headers["traceparent"]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// The propagator.
    pub const fn new() -> Self {
        TraceContextPropagator { _private: () }
    }

    /// The remote span context in `extractor`, if its headers are valid.
    pub fn extract_span_context(&self, extractor: &dyn Extractor) -> Option<SpanContext> {
        // A carrier with repeated headers (an HTTP header map) returns them
        // all from `get_all`; two traceparents make the request invalid.
        let header = match extractor.get_all(TRACEPARENT)?.as_slice() {
            [header] => *header,
            _ => return None,
        };
        span_context_of(header, extractor)
    }

    /// [`extract_span_context`](Self::extract_span_context) for a carrier
    /// that gives a field's only line: the same result, without `get_all`'s
    /// list.
    pub fn extract_span_context_single_line(
        &self,
        carrier: &dyn SingleLineExtractor,
    ) -> Option<SpanContext> {
        span_context_of(carrier.single_line(TRACEPARENT)?, carrier)
    }
}

/// The remote span context of a carrier's one `traceparent` line and its
/// `tracestate` lines.
fn span_context_of(header: &str, extractor: &dyn Extractor) -> Option<SpanContext> {
    let (trace_id, span_id, flags) = traceparent::parse(header)?;
    let trace_state = match extractor.get_all(TRACESTATE) {
        Some(lines) => tracestate::parse(lines),
        None => TraceState::NONE,
    };
    Some(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        trace_state,
    ))
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(
            TRACEPARENT,
            traceparent::encode(
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags(),
            ),
        );
        let trace_state = span_context.trace_state();
        if *trace_state != TraceState::NONE {
            let header = trace_state.header();
            if !header.is_empty() {
                injector.set(TRACESTATE, header);
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match self.extract_span_context(extractor) {
            Some(span_context) => cx.with_remote_span_context(span_context),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}
