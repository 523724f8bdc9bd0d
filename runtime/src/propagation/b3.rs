//! Zipkin B3 propagation (`OTEL_PROPAGATORS=b3` or `b3multi`), for meshes
//! and services that speak B3 rather than W3C Trace Context.
//!
//! The headers are read and written by opentelemetry-propagator-b3;
//! this wrapper only translates trace flags at its edges. That propagator
//! gives the flag bit `0x02` the meaning "sampling deferred", which W3C Trace
//! Context Level 2 gives to "the trace id is random", set on every spanflow
//! trace: passed through unchanged, every spanflow span would go out without
//! its sampling decision, and every B3 request without one would come in
//! claiming a random trace id. It also writes a "not sampled" decision when
//! there is no trace at all, and reads a single header's debug state `d`
//! without the sampled flag that debug implies.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry_propagator_b3::{B3Encoding, Propagator};

/// B3's debug flag as opentelemetry-propagator-b3 carries it in trace flags.
const DEBUG: TraceFlags = TraceFlags::new(0x04);

/// Injects and extracts Zipkin B3 headers: the single `b3` header or the
/// `x-b3-*` headers when injecting, either (the single header first) when
/// extracting, as the OpenTelemetry specification asks.
///
/// A request without a B3 sampling decision ("deferred") comes in as not
/// sampled, as in the other OpenTelemetry SDKs; B3's debug flag comes in as
/// sampled and is passed on to the next B3 hop. `X-B3-ParentSpanId` is
/// never written. Nothing is written when there is no trace.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
///
/// let propagator = spanflow::propagation::B3Propagator::single_header();
/// let incoming = HashMap::from([(
///     "b3".to_owned(),
///     "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1".to_owned(),
/// )]);
/// let cx = propagator.extract(&incoming);
/// assert!(cx.span().span_context().is_sampled());
///
/// let mut outgoing = HashMap::new();
/// propagator.inject_context(&cx, &mut outgoing);
/// assert_eq!(outgoing["b3"], incoming["b3"]);
/// ```
#[derive(Clone, Debug)]
pub struct B3Propagator {
    headers: Propagator,
}

impl B3Propagator {
    /// Writes the single `b3` header (`OTEL_PROPAGATORS=b3`).
    pub fn single_header() -> Self {
        B3Propagator {
            headers: Propagator::with_encoding(B3Encoding::SingleHeader),
        }
    }

    /// Writes `x-b3-traceid`, `x-b3-spanid` and `x-b3-sampled` (or
    /// `x-b3-flags` for debug) (`OTEL_PROPAGATORS=b3multi`).
    pub fn multiple_headers() -> Self {
        B3Propagator {
            headers: Propagator::with_encoding(B3Encoding::MultipleHeader),
        }
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        // Only the flags B3 has, so that the random flag is not read as
        // "deferred".
        let flags = TraceFlags::new(span_context.trace_flags().to_u8() & (0x01 | DEBUG.to_u8()));
        let outgoing = Context::new().with_remote_span_context(SpanContext::new(
            span_context.trace_id(),
            span_context.span_id(),
            flags,
            span_context.is_remote(),
            TraceState::NONE,
        ));
        self.headers.inject_context(&outgoing, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let extracted = self
            .headers
            .extract_with_context(&Context::new(), extractor);
        let span = extracted.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return cx.clone();
        }
        let received = span_context.trace_flags();
        let flags = if received & DEBUG == DEBUG {
            DEBUG | TraceFlags::SAMPLED
        } else if received.is_sampled() {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        cx.with_remote_span_context(SpanContext::new(
            span_context.trace_id(),
            span_context.span_id(),
            flags,
            true,
            TraceState::NONE,
        ))
    }

    fn fields(&self) -> FieldIter<'_> {
        self.headers.fields()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;
    use crate::propagation::RANDOM_FLAG;

    const TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const SPAN: &str = "e457b5a2e4d86bd1";

    fn spanflow_context(flags: u8) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            TraceFlags::new(flags),
            false,
            TraceState::NONE,
        ))
    }

    fn injected(propagator: &B3Propagator, cx: &Context) -> HashMap<String, String> {
        let mut headers = HashMap::new();
        propagator.inject_context(cx, &mut headers);
        headers
    }

    fn extracted(propagator: &B3Propagator, headers: &[(&str, &str)]) -> SpanContext {
        let headers: HashMap<String, String> = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        propagator.extract(&headers).span().span_context().clone()
    }

    #[test]
    fn a_random_trace_id_keeps_its_sampling_decision_on_the_wire() {
        let sampled = spanflow_context(0x01 | RANDOM_FLAG);
        let headers = injected(&B3Propagator::single_header(), &sampled);
        assert_eq!(headers["b3"], format!("{TRACE}-{SPAN}-1"));
        let headers = injected(&B3Propagator::multiple_headers(), &sampled);
        assert_eq!(headers["x-b3-traceid"], TRACE);
        assert_eq!(headers["x-b3-spanid"], SPAN);
        assert_eq!(headers["x-b3-sampled"], "1");
        assert!(!headers.contains_key("x-b3-parentspanid"));

        let unsampled = spanflow_context(RANDOM_FLAG);
        let headers = injected(&B3Propagator::single_header(), &unsampled);
        assert_eq!(headers["b3"], format!("{TRACE}-{SPAN}-0"));
        let headers = injected(&B3Propagator::multiple_headers(), &unsampled);
        assert_eq!(headers["x-b3-sampled"], "0");
    }

    #[test]
    fn nothing_is_written_without_a_trace() {
        for propagator in [
            B3Propagator::single_header(),
            B3Propagator::multiple_headers(),
        ] {
            assert!(injected(&propagator, &Context::new()).is_empty());
        }
    }

    #[test]
    fn either_encoding_is_read_and_deferred_means_not_sampled() {
        let propagator = B3Propagator::single_header();
        let multi = extracted(
            &propagator,
            &[
                ("x-b3-traceid", TRACE),
                ("x-b3-spanid", SPAN),
                ("x-b3-sampled", "1"),
            ],
        );
        assert_eq!(multi.trace_id(), TraceId::from_hex(TRACE).unwrap());
        assert_eq!(multi.span_id(), SpanId::from_hex(SPAN).unwrap());
        assert!(multi.is_remote());
        assert_eq!(multi.trace_flags(), TraceFlags::SAMPLED);

        let deferred = extracted(&propagator, &[("b3", &format!("{TRACE}-{SPAN}"))]);
        assert!(deferred.is_valid());
        assert_eq!(deferred.trace_flags(), TraceFlags::default());

        let deferred = extracted(
            &B3Propagator::multiple_headers(),
            &[("x-b3-traceid", TRACE), ("x-b3-spanid", SPAN)],
        );
        assert_eq!(deferred.trace_flags(), TraceFlags::default());
    }

    #[test]
    fn debug_comes_in_sampled_and_goes_on() {
        let single = B3Propagator::single_header();
        let debug = extracted(&single, &[("b3", &format!("{TRACE}-{SPAN}-d"))]);
        assert!(debug.is_sampled());
        let cx = Context::new().with_remote_span_context(debug);
        assert_eq!(injected(&single, &cx)["b3"], format!("{TRACE}-{SPAN}-d"));
        let headers = injected(&B3Propagator::multiple_headers(), &cx);
        assert_eq!(headers["x-b3-flags"], "1");
        assert!(!headers.contains_key("x-b3-sampled"));
    }

    #[test]
    fn a_short_trace_id_and_bad_headers() {
        let propagator = B3Propagator::multiple_headers();
        let short = extracted(
            &propagator,
            &[("b3", &format!("{}-{SPAN}-1", &TRACE[16..]))],
        );
        assert_eq!(short.trace_id(), TraceId::from_hex(&TRACE[16..]).unwrap());
        for bad in ["", "-", "zz-zz-1", &format!("{TRACE}-{SPAN}-7")] {
            assert!(
                !extracted(&propagator, &[("b3", bad)]).is_valid(),
                "{bad:?}"
            );
        }
    }
}
