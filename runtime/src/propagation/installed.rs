//! The global propagator a pipeline installs, and recognising it again.
//!
//! Through OpenTelemetry's `TextMapPropagator` trait an extracted remote
//! span context always becomes a `Context` of its own, which the span
//! started under it replaces at once. [`Extracted`](super::Extracted)
//! skips that `Context` when it knows what the global propagator does:
//! when it is the one installed here. OpenTelemetry's global holds a boxed
//! `dyn TextMapPropagator` with no way to ask its type, so the installed
//! propagator is recognised by its `fields`: they are lent from a list only
//! this module has, which no other propagator can lend.

use std::sync::{LazyLock, OnceLock};

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

use super::{
    BAGGAGE, BaggagePropagator, SingleLineExtractor, TRACEPARENT, TRACESTATE,
    TraceContextPropagator,
};
use crate::context::Parent;

/// W3C Trace Context, W3C Baggage, or both: what a pipeline installs
/// unless `OTEL_PROPAGATORS` names B3 or none.
#[derive(Clone, Copy, Debug)]
pub(crate) struct W3cPropagators {
    trace_context: bool,
    baggage: bool,
}

/// The fields of the installed propagators, lent by nothing else; a
/// pipeline with Baggage alone lends the last one only.
static FIELDS: LazyLock<[String; 3]> = LazyLock::new(|| {
    [
        TRACEPARENT.to_owned(),
        TRACESTATE.to_owned(),
        BAGGAGE.to_owned(),
    ]
});

/// The propagators the pipeline installed globally, once per process.
static INSTALLED: OnceLock<W3cPropagators> = OnceLock::new();

impl W3cPropagators {
    /// Installs W3C Trace Context and/or Baggage as the global propagator;
    /// `false` when neither is asked for (nothing installed).
    pub(crate) fn install(trace_context: bool, baggage: bool) -> bool {
        if !trace_context && !baggage {
            return false;
        }
        let propagators = W3cPropagators {
            trace_context,
            baggage,
        };
        // A second pipeline in one process is refused before this point;
        // were one to get here with other choices, its propagator would not
        // be recognised (other fields lent) and would be used as any other.
        let _ = INSTALLED.set(propagators);
        opentelemetry::global::set_text_map_propagator(propagators);
        true
    }

    /// The installed propagators, when `propagator` is them.
    #[inline]
    pub(crate) fn recognise(propagator: &dyn TextMapPropagator) -> Option<W3cPropagators> {
        let installed = *INSTALLED.get()?;
        let ours = installed.fields();
        let mut fields = propagator.fields();
        // The first field and their number: each of the three choices
        // lends a different slice of the list.
        let same =
            std::ptr::eq(fields.next()?, ours[0].as_str()) && fields.count() + 1 == ours.len();
        same.then_some(installed)
    }

    fn fields(self) -> &'static [String] {
        let all = &*FIELDS;
        match (self.trace_context, self.baggage) {
            (true, true) => all,
            (true, false) => &all[..2],
            _ => &all[2..],
        }
    }

    /// What `extract_with_context` gives, with the remote span context
    /// kept beside `cx` rather than in a `Context` of its own.
    #[inline]
    pub(crate) fn extract_parent(self, cx: &Context, carrier: Carrier<'_>) -> Parent {
        let base = if self.baggage {
            BaggagePropagator::new().extract_with_context(cx, carrier.extractor())
        } else {
            cx.clone()
        };
        let remote = match (self.trace_context, carrier) {
            (false, _) => None,
            (true, Carrier::Plain(extractor)) => {
                TraceContextPropagator::new().extract_span_context(extractor)
            }
            (true, Carrier::SingleLine(carrier)) => {
                TraceContextPropagator::new().extract_span_context_single_line(carrier)
            }
        };
        match remote {
            Some(remote) => Parent::remote(base, remote),
            None => Parent::of(base),
        }
    }
}

/// A carrier as [`W3cPropagators::extract_parent`] reads it.
#[derive(Clone, Copy)]
pub(crate) enum Carrier<'a> {
    Plain(&'a dyn Extractor),
    SingleLine(&'a dyn SingleLineExtractor),
}

impl<'a> Carrier<'a> {
    pub(crate) fn extractor(self) -> &'a dyn Extractor {
        match self {
            Carrier::Plain(extractor) => extractor,
            Carrier::SingleLine(carrier) => carrier,
        }
    }
}

impl TextMapPropagator for W3cPropagators {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if self.trace_context {
            TraceContextPropagator::new().inject_context(cx, injector);
        }
        if self.baggage {
            BaggagePropagator::new().inject_context(cx, injector);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.extract_parent(cx, Carrier::Plain(extractor))
            .into_context()
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(W3cPropagators::fields(*self))
    }
}
