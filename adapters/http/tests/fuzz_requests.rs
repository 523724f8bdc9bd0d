//! Property tests of the tower server layer with arbitrary targets and
//! header values, as any client (or proxy) may send them: the request is
//! served, its span recorded, no sensitive query value and nothing but
//! what the headers said reaches the span, and the captured headers show
//! every line sent, in order.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderName, HeaderValue, Request};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{StringValue, Value};
use proptest::prelude::*;
use spanflow_http::{HttpSpanOptions, TraceLayer};
use support::{attribute, installed, spans_of};
use tower_service::Service;

const SENSITIVE: [&str; 5] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
];

/// A query of `key=value` pairs, the sensitive keys among them.
fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(SENSITIVE.to_vec()).prop_map(str::to_owned),
        "[a-zA-Z-]{0,8}",
    ];
    proptest::collection::vec((key, "[a-zA-Z0-9%._~-]{0,12}"), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Header values: plausible ones and any bytes a header may hold (visible
/// ASCII, spaces, and bytes past ASCII, which are not text).
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "(for|proto|host|by)=\"?[\\[\\]0-9a-f.:_a-z]{0,20}\"?(;[a-z]+=[a-z0-9.:]{0,8}){0,2}(, for=[0-9.]{1,15})?"
            .prop_map(String::into_bytes),
        "[a-z0-9.:\\[\\]-]{0,24}".prop_map(String::into_bytes),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        proptest::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
            0..40
        ),
    ]
}

const HEADER_NAMES: [&str; 6] = [
    "host",
    "forwarded",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-for",
    "user-agent",
];

fn header_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(HEADER_NAMES.to_vec())
}

/// The app, its layer capturing every header the test sends.
fn router() -> Router {
    let options =
        HttpSpanOptions::new().capture_request_headers(HEADER_NAMES.map(HeaderName::from_static));
    Router::new()
        .route("/items/{id}", get(|| async { "ok" }))
        .layer(TraceLayer::with_options(options))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_target_and_headers_are_served_and_traced(
        id in "[a-zA-Z0-9._~-]{1,12}",
        query in query(),
        headers in proptest::collection::vec((header_name(), header_value()), 0..6),
    ) {
        installed();
        // A trace of its own for every run, shrinking's reruns included.
        static RUNS: AtomicU64 = AtomicU64::new(1);
        let trace = TraceId::from((0xf022_u128 << 64) | u128::from(RUNS.fetch_add(1, Ordering::Relaxed)));
        let target = if query.is_empty() {
            format!("/items/{id}")
        } else {
            format!("/items/{id}?{query}")
        };
        let mut request = Request::get(target.as_str())
            .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
            .body(Body::empty())
            .expect("a request");
        let mut sent = Vec::new();
        let mut sent_by_name = Vec::new();
        for (name, value) in &headers {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
                sent.push(text.clone());
                sent_by_name.push((*name, text));
                request.headers_mut().append(*name, value);
            }
        }
        let response = futures::executor::block_on(router().call(request)).expect("infallible");
        prop_assert_eq!(response.status(), http::StatusCode::OK);
        drop(response);

        let spans = spans_of(trace);
        prop_assert_eq!(spans.len(), 1);
        let server = &spans[0];
        prop_assert_eq!(server.span_kind.clone(), SpanKind::Server);
        prop_assert_eq!(attribute(server, "url.path"), Some(&Value::from(format!("/items/{id}"))));
        match attribute(server, "url.query") {
            None => prop_assert!(query.is_empty()),
            Some(shown) => {
                let shown = shown.as_str();
                prop_assert_eq!(shown.split('&').count(), query.split('&').count());
                for (pair, sent_pair) in shown.split('&').zip(query.split('&')) {
                    let key = sent_pair.split_once('=').map_or(sent_pair, |(key, _)| key);
                    if SENSITIVE.contains(&key) {
                        prop_assert_eq!(pair, format!("{key}=REDACTED"));
                    } else {
                        prop_assert_eq!(pair, sent_pair);
                    }
                }
            }
        }
        // What the span says of the origin comes from what was sent.
        for key in ["server.address", "client.address"] {
            if let Some(shown) = attribute(server, key) {
                let shown = shown.as_str();
                prop_assert!(
                    sent.iter().any(|value| value.contains(shown.as_ref())),
                    "{} {:?} not in {:?}", key, shown, sent
                );
            }
        }
        for name in HEADER_NAMES {
            let lines: Vec<StringValue> = sent_by_name
                .iter()
                .filter(|(sent_name, _)| *sent_name == name)
                .map(|(_, text)| StringValue::from(text.clone()))
                .collect();
            let expected = (!lines.is_empty()).then(|| Value::Array(lines.into()));
            prop_assert_eq!(
                attribute(server, &format!("http.request.header.{name}")),
                expected.as_ref(),
                "{}", name
            );
        }
        if let Some(scheme) = attribute(server, "url.scheme") {
            let scheme = scheme.as_str();
            prop_assert_eq!(scheme.to_ascii_lowercase(), scheme.as_ref());
        }
    }
}
