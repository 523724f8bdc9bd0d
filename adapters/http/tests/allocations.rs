//! What `TraceLayer` adds to an axum request's allocations on the request's
//! thread, with a counting global allocator (this binary's only test, so
//! nothing else counted allocates meanwhile): the router is called on the
//! test's thread with `TraceLayer` and with a layer that adds nothing (axum
//! boxes a layered route's service, future and body, whatever the layer),
//! and the difference counted.

#[path = "../../../tests/tests/counting/mod.rs"]
mod counting;
mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{StringValue, Value};
use spanflow_http::{HttpSpanOptions, TraceLayer};
use support::{attribute, installed, spans_of};
use tower_service::Service;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

fn request() -> Request<Body> {
    Request::get("/users/7")
        .header("traceparent", format!("00-{TRACE}-b7ad6b7169203331-01"))
        .header("host", "shop.example:8080")
        .header("user-agent", "checkout/1.0")
        .body(Body::empty())
        .expect("a request")
}

/// The allocations of `requests` calls of `app` on this thread, responses
/// dropped (which ends a traced request's span). The pipeline is flushed
/// (uncounted) every 256 requests, so that the spans find the spare
/// records the warm-up left, as a thread does when the collector keeps up.
fn allocations_of(app: &mut Router, requests: u64) -> u64 {
    let mut made = 0;
    for done in 1..=requests {
        let request = request();
        made += counting::allocations_of(|| {
            let response = futures::executor::block_on(app.call(request)).expect("infallible");
            drop(response);
        });
        if done % 256 == 0 {
            installed().1.flush().expect("flushed in time");
        }
    }
    made
}

#[test]
fn a_routed_request_allocates_three_more_times_when_traced() {
    installed();
    let handler = || async { "ok" };
    // `with_state(())` turns the routes into services once, as
    // `axum::serve` does (`into_make_service`); called as it is, a router
    // would do that per request, boxing a copy of each layer every time
    // (a layer that holds no data, as the plain one here, boxes nothing).
    let mut plain = Router::new()
        .route("/users/{id}", get(handler))
        .layer(tower_layer::layer_fn(|service| service))
        .with_state(());
    let mut traced = Router::new()
        .route("/users/{id}", get(handler))
        .layer(TraceLayer::new())
        .with_state(());
    let trace = TraceId::from_hex(TRACE).expect("hex");

    // Warm the thread's rings, spare records and names.
    allocations_of(&mut plain, 2_048);
    allocations_of(&mut traced, 2_048);
    assert_eq!(spans_of(trace).len(), 2_048);

    const REQUESTS: u64 = 1_000;
    let untraced = allocations_of(&mut plain, REQUESTS);
    let made = allocations_of(&mut traced, REQUESTS) - untraced;
    // The span's own `Context` (the caller's span context is kept beside
    // it, not in a `Context` of its own); `url.path` copied from the
    // request; axum boxing the traced response body into its `Body` (which
    // a body of its own type skips). The name and the route are lent,
    // `server.address` and `user_agent.original` shared, not copied, the
    // `Host` header is read where it is, and the `traceparent` lines are
    // counted, not collected into OpenTelemetry's `get_all` list.
    assert_eq!(made, 3 * REQUESTS, "allocations for {REQUESTS} requests");

    let spans = spans_of(trace);
    assert_eq!(spans.len(), 2_048 + REQUESTS as usize);
    let last = spans.last().expect("spans");
    assert_eq!(last.name, "GET /users/{id}");
    assert_eq!(last.span_kind, SpanKind::Server);
    assert_eq!(
        attribute(last, "http.route"),
        Some(&Value::from("/users/{id}"))
    );
    assert_eq!(attribute(last, "url.path"), Some(&Value::from("/users/7")));
    assert_eq!(
        attribute(last, "user_agent.original"),
        Some(&Value::from("checkout/1.0"))
    );
    assert_eq!(
        attribute(last, "server.address"),
        Some(&Value::from("shop.example"))
    );
    assert_eq!(attribute(last, "server.port"), Some(&Value::I64(8080)));
    assert_eq!(
        attribute(last, "http.response.status_code"),
        Some(&Value::I64(200))
    );

    // A captured header costs its list and its value's copy: two headers
    // of the request and one of the response (`content-type`), six more
    // than the plain layer, and an absent one nothing.
    let options = HttpSpanOptions::new()
        .capture_request_headers([http::header::USER_AGENT, http::header::HOST])
        .capture_response_headers([http::header::CONTENT_TYPE, http::header::ETAG]);
    let mut capturing = Router::new()
        .route("/users/{id}", get(handler))
        .layer(TraceLayer::with_options(options))
        .with_state(());
    allocations_of(&mut capturing, 256);
    let made = allocations_of(&mut capturing, REQUESTS) - untraced;
    assert_eq!(
        made,
        (3 + 3 * 2) * REQUESTS,
        "allocations for {REQUESTS} requests"
    );
    let spans = spans_of(trace);
    let last = spans.last().expect("spans");
    assert_eq!(
        attribute(last, "http.request.header.user-agent"),
        Some(&Value::Array(
            vec![StringValue::from("checkout/1.0")].into()
        ))
    );
    assert_eq!(attribute(last, "http.response.header.etag"), None);
}
