//! The parent a carrier names, for a span started from it at once.

use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, TraceContextExt};

use super::SingleLineExtractor;
use super::installed::{Carrier, W3cPropagators};
use crate::context::{Parent, ParentContext};

/// The context a carrier (a request's headers, a message's) sends, read
/// through the global propagator, as the parent of the span that handles
/// it: what the HTTP server layers and the Kafka consumer start their spans
/// under.
///
/// The same parent as `propagator.extract_with_context(base, carrier)`,
/// but when the global propagator is the one a spanflow pipeline installed
/// (W3C Trace Context and Baggage, or either alone), the remote span
/// context is kept beside `base` instead of in a `Context` of its own: the
/// span's `Context` takes its place at once, so making it would cost an
/// allocation and ~45 ns for nothing (BENCHMARKS.md, the propagation
/// section). Any other global propagator (B3, one set with
/// `opentelemetry::global::set_text_map_propagator`) is used as it is.
///
/// ```
/// use std::collections::HashMap;
///
/// let mut headers = HashMap::new();
/// headers.insert(
///     "traceparent".to_owned(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
/// );
/// # opentelemetry::global::set_text_map_propagator(
/// #     spanflow::propagation::TraceContextPropagator::new());
/// let parent = spanflow::propagation::Extracted::from_carrier(
///     &opentelemetry::Context::new(),
///     &spanflow::propagation::StringMap(&headers),
/// );
/// assert_eq!(
///     parent.span_context().span_id().to_string(),
///     "b7ad6b7169203331"
/// );
/// let span = spanflow::Span::with_parent(spanflow::callsite!("handle"), parent);
/// # drop(span);
/// ```
#[derive(Clone, Debug)]
pub struct Extracted {
    parent: Parent,
}

impl Extracted {
    /// Reads `extractor` through the global propagator over `base`: an
    /// empty `Context` for a message, the current one for a request whose
    /// parent is the current span when it carries none.
    #[inline]
    pub fn from_carrier(base: &Context, extractor: &dyn Extractor) -> Extracted {
        Extracted::read(base, Carrier::Plain(extractor))
    }

    /// [`from_carrier`](Self::from_carrier) for a carrier that gives a
    /// field's only line ([`SingleLineExtractor`]: spanflow-http's
    /// `Headers`, [`StringMap`](super::StringMap)): the same parent,
    /// without the list OpenTelemetry's `Extractor::get_all` collects to
    /// see one `traceparent` (an allocation per extract), when the global
    /// propagator is spanflow's.
    #[inline]
    pub fn from_single_line(base: &Context, carrier: &dyn SingleLineExtractor) -> Extracted {
        Extracted::read(base, Carrier::SingleLine(carrier))
    }

    #[inline]
    fn read(base: &Context, carrier: Carrier<'_>) -> Extracted {
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            match W3cPropagators::recognise(propagator) {
                Some(installed) => installed.extract_parent(base, carrier),
                None => Parent::of(propagator.extract_with_context(base, carrier.extractor())),
            }
        });
        Extracted { parent }
    }

    /// The parent span's context: the carrier's, or `base`'s span when the
    /// carrier has none (or an invalid one).
    pub fn span_context(&self) -> SpanContext {
        match &self.parent.remote {
            Some(remote) => remote.clone(),
            None => self.parent.base.span().span_context().clone(),
        }
    }

    /// The parent as one `Context`, as the propagator alone would give it.
    #[inline]
    pub fn into_context(self) -> Context {
        self.parent.into_context()
    }
}

impl ParentContext for Extracted {
    #[inline]
    fn into_parent_context(self) -> Context {
        self.into_context()
    }

    #[inline]
    fn into_parent(self) -> Parent {
        self.parent
    }
}
