//! W3C Trace Context through the global propagator `Pipeline::install` sets,
//! over `http::HeaderMap`s, which can repeat headers.

mod common;

use common::*;
use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::global;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use spanflow::trace;

const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03";

fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

fn inject(cx: &Context) -> HeaderMap {
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut HeaderInjector(&mut headers))
    });
    headers
}

#[trace(kind = server)]
fn handle() -> (TraceId, HeaderMap) {
    (current_trace_id(), inject(&Context::current()))
}

#[test]
fn a_request_continues_the_callers_trace_with_flags_and_vendor_state() {
    setup();
    let mut incoming = HeaderMap::new();
    incoming.insert("traceparent", HeaderValue::from_static(PARENT));
    incoming.append("tracestate", HeaderValue::from_static("congo=t61rcWkgMzE"));
    incoming.append(
        "tracestate",
        HeaderValue::from_static(" rojo=00f067aa0ba902b7 ,"),
    );

    let (trace, outgoing) = spanflow::with_context(&extract(&incoming), handle);
    assert_eq!(format!("{trace:032x}"), "0af7651916cd43dd8448eb211c80319c");
    let spans = spans_of(trace);
    let span = one(&spans, "handle");
    assert_eq!(format!("{:016x}", span.parent_span_id), "b7ad6b7169203331");
    assert!(span.parent_span_is_remote);

    let traceparent = outgoing["traceparent"].to_str().unwrap();
    assert!(traceparent.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
    assert!(
        traceparent.ends_with("-03"),
        "sampled and random flags kept: {traceparent}"
    );
    assert!(
        !traceparent.contains("b7ad6b7169203331"),
        "the parent id is the server span's"
    );
    assert_eq!(
        outgoing["tracestate"],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );
}

#[test]
fn invalid_or_repeated_traceparent_starts_a_new_trace_and_drops_tracestate() {
    setup();
    let cases: Vec<HeaderMap> = vec![
        {
            let mut h = HeaderMap::new();
            h.insert(
                "traceparent",
                HeaderValue::from_static("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"),
            );
            h.insert("tracestate", HeaderValue::from_static("congo=1"));
            h
        },
        {
            let mut h = HeaderMap::new();
            h.append("traceparent", HeaderValue::from_static(PARENT));
            h.append("traceparent", HeaderValue::from_static(PARENT));
            h
        },
        {
            let mut h = HeaderMap::new();
            h.insert("traceparent", HeaderValue::from_static("garbage"));
            h
        },
    ];
    for incoming in cases {
        let cx = extract(&incoming);
        assert!(!cx.span().span_context().is_valid(), "{incoming:?}");
        let (trace, outgoing) = spanflow::with_context(&cx, handle);
        assert_ne!(format!("{trace:032x}"), "0af7651916cd43dd8448eb211c80319c");
        assert!(outgoing.get("tracestate").is_none());
        assert_root(one(&spans_of(trace), "handle"));
    }
}

#[test]
fn spanflow_roots_set_the_random_flag() {
    setup();
    let (_, outgoing) = handle();
    assert!(outgoing["traceparent"].to_str().unwrap().ends_with("-03"));
}

#[test]
fn an_invalid_tracestate_member_drops_the_whole_tracestate() {
    setup();
    let mut incoming = HeaderMap::new();
    incoming.insert(
        "traceparent",
        HeaderValue::from_static("00-1bf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    incoming.insert("tracestate", HeaderValue::from_static("congo=1,Bad=2"));
    let (_, outgoing) = spanflow::with_context(&extract(&incoming), handle);
    assert!(outgoing.get("tracestate").is_none());
    assert!(
        outgoing["traceparent"]
            .to_str()
            .unwrap()
            .starts_with("00-1bf7651916cd43dd8448eb211c80319c-")
    );
}
