//! `propagation::Extracted`: a span started under what a carrier sends is
//! the same span as under the `Context` the global propagator extracts,
//! whether the propagator is the pipeline's (read without a `Context` of its
//! own) or one installed over it (used as it is). One test, in steps, since
//! its last step replaces this process's global propagator.

mod common;

use std::collections::HashMap;

use common::*;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use spanflow::Span;
use spanflow::propagation::{Extracted, SingleLineExtractor, StringMap};

const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03";

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn through_the_global_propagator(base: &Context, carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(base, carrier)
    })
}

/// What `span`'s context sends downstream.
fn outgoing(span: &Span) -> HashMap<String, String> {
    let mut out = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&span.outgoing_context(), &mut out)
    });
    out
}

#[test]
fn spans_under_an_extracted_parent_are_as_under_the_extracted_context() {
    setup();
    a_sampled_caller_with_state_and_baggage();
    without_a_traceparent_the_base_span_is_the_parent();
    an_unsampled_caller_is_carried_unsampled();
    single_line_carriers_give_the_same_parents();
    a_propagator_installed_over_the_pipelines_is_used_as_it_is();
}

fn a_sampled_caller_with_state_and_baggage() {
    let carrier = headers(&[
        ("traceparent", CALLER),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("baggage", "tenant=acme"),
    ]);
    let extracted = Extracted::from_carrier(&Context::new(), &StringMap(&carrier));
    let expected = through_the_global_propagator(&Context::new(), &StringMap(&carrier));
    assert_eq!(extracted.span_context(), *expected.span().span_context());

    let mut span = Span::with_parent(spanflow::callsite!("handle", kind = server), extracted);
    let sent = outgoing(&span);
    assert_eq!(sent["baggage"], "tenant=acme", "{sent:?}");
    assert_eq!(sent["tracestate"], "congo=t61rcWkgMzE", "{sent:?}");
    assert!(
        sent["traceparent"].starts_with("00-0af7651916cd43dd8448eb211c80319c-")
            && !sent["traceparent"].contains("b7ad6b7169203331"),
        "the caller's trace, the span's own id: {sent:?}"
    );
    span.end();

    let trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
    let spans = spans_of(trace);
    let handled = one(&spans, "handle");
    assert_eq!(
        format!("{:016x}", handled.parent_span_id),
        "b7ad6b7169203331"
    );
    assert!(handled.parent_span_is_remote);
    assert_eq!(
        handled.span_context.trace_state().header(),
        "congo=t61rcWkgMzE"
    );
}

fn without_a_traceparent_the_base_span_is_the_parent() {
    let carrier = headers(&[("baggage", "tenant=acme")]);
    let mut local = Span::new(spanflow::callsite!("local"));
    let base = local
        .outgoing_context()
        .with_baggage([KeyValue::new("region", "eu")]);
    let extracted = Extracted::from_carrier(&base, &StringMap(&carrier));
    assert_eq!(
        extracted.span_context().span_id(),
        local.span_context().span_id()
    );
    let mut child = Span::with_parent(spanflow::callsite!("child"), extracted);
    // The carrier's baggage replaces the base's, as the propagator does.
    assert_eq!(outgoing(&child)["baggage"], "tenant=acme");
    child.end();
    local.end();

    let spans = spans_of(local.span_context().trace_id());
    assert_child_of(one(&spans, "child"), one(&spans, "local"));
}

fn an_unsampled_caller_is_carried_unsampled() {
    let unsampled = "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-00";
    let carrier = headers(&[("traceparent", unsampled)]);
    let span = Span::with_parent(
        spanflow::callsite!("unsampled"),
        Extracted::from_carrier(&Context::new(), &StringMap(&carrier)),
    );
    assert!(!span.is_recording());
    assert_eq!(outgoing(&span)["traceparent"], unsampled);
}

/// Fields as `(name, value)` lines, repeats allowed, as an HTTP header map
/// holds them.
struct Lines<'a>(&'a [(&'a str, &'a str)]);

impl Extractor for Lines<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| *name).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all: Vec<&str> = self
            .0
            .iter()
            .filter(|(name, _)| *name == key)
            .map(|(_, value)| *value)
            .collect();
        (!all.is_empty()).then_some(all)
    }
}

impl SingleLineExtractor for Lines<'_> {
    fn single_line(&self, key: &str) -> Option<&str> {
        let mut all = self.0.iter().filter(|(name, _)| *name == key);
        let (_, first) = all.next()?;
        all.next().is_none().then_some(*first)
    }
}

/// `from_single_line` reads what `from_carrier` reads: one `traceparent`
/// line, two (invalid), none, a malformed one, with `tracestate` lines
/// merged and baggage, over a base with a span of its own.
fn single_line_carriers_give_the_same_parents() {
    let mut local = Span::new(spanflow::callsite!("local base"));
    let base = local.outgoing_context();
    let other = "00-3af7651916cd43dd8448eb211c80319c-e7ad6b7169203331-01";
    let carriers: [&[(&str, &str)]; 6] = [
        &[("traceparent", CALLER)],
        &[
            ("traceparent", CALLER),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("tracestate", "rojo=00f067aa0ba902b7"),
            ("baggage", "tenant=acme"),
        ],
        &[("traceparent", CALLER), ("traceparent", other)],
        &[("traceparent", CALLER), ("traceparent", CALLER)],
        &[("baggage", "tenant=acme")],
        &[(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
        )],
    ];
    for lines in carriers {
        let counted = Extracted::from_single_line(&base, &Lines(lines));
        let listed = Extracted::from_carrier(&base, &Lines(lines));
        let expected = through_the_global_propagator(&base, &Lines(lines));
        assert_eq!(counted.span_context(), listed.span_context(), "{lines:?}");
        assert_eq!(
            counted.span_context(),
            *expected.span().span_context(),
            "{lines:?}"
        );
        let baggage = |cx: &Context| {
            let mut entries: Vec<String> = cx
                .baggage()
                .iter()
                .map(|(key, (value, _))| format!("{key}={value}"))
                .collect();
            entries.sort();
            entries
        };
        assert_eq!(
            baggage(&counted.clone().into_context()),
            baggage(&expected),
            "{lines:?}"
        );
    }
    // What each kind of carrier gave, to be sure the cases differ.
    let parent_of = |lines: &[(&str, &str)]| {
        Extracted::from_single_line(&base, &Lines(lines))
            .span_context()
            .span_id()
            .to_string()
    };
    assert_eq!(parent_of(carriers[0]), "b7ad6b7169203331");
    for invalid in [carriers[2], carriers[3], carriers[4], carriers[5]] {
        assert_eq!(
            parent_of(invalid),
            local.span_context().span_id().to_string(),
            "the base's span for {invalid:?}"
        );
    }
    assert_eq!(
        Extracted::from_single_line(&base, &Lines(carriers[1]))
            .span_context()
            .trace_state()
            .header(),
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );
    local.end();
}

/// A propagator that always names the same remote parent.
#[derive(Debug)]
struct Fixed;

const FIXED_TRACE: &str = "2af7651916cd43dd8448eb211c80319c";

impl TextMapPropagator for Fixed {
    fn inject_context(
        &self,
        _cx: &Context,
        _injector: &mut dyn opentelemetry::propagation::Injector,
    ) {
    }

    fn extract_with_context(&self, cx: &Context, _extractor: &dyn Extractor) -> Context {
        cx.with_remote_span_context(SpanContext::new(
            TraceId::from_hex(FIXED_TRACE).unwrap(),
            opentelemetry::trace::SpanId::from_hex("d7ad6b7169203331").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ))
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&[])
    }
}

fn a_propagator_installed_over_the_pipelines_is_used_as_it_is() {
    opentelemetry::global::set_text_map_propagator(Fixed);
    let carrier = headers(&[("traceparent", CALLER)]);
    let mut span = Span::with_parent(
        spanflow::callsite!("fixed"),
        Extracted::from_carrier(&Context::new(), &StringMap(&carrier)),
    );
    span.end();
    let spans = spans_of(TraceId::from_hex(FIXED_TRACE).unwrap());
    assert_eq!(
        format!("{:016x}", one(&spans, "fixed").parent_span_id),
        "d7ad6b7169203331"
    );
    let counted = Extracted::from_single_line(&Context::new(), &StringMap(&carrier));
    assert_eq!(
        counted.span_context().span_id().to_string(),
        "d7ad6b7169203331",
        "a single-line carrier through the installed propagator too"
    );
}
