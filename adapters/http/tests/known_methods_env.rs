//! `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`, the variable the HTTP
//! conventions name, replaces the methods server and client spans know; a
//! method that is not an HTTP token fails the install, naming the variable.
//! One test, so that it alone sets this process's environment.

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use http::{Method, Request};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::InstallError;
use spanflow_http::TraceLayer;
use support::{attribute, installed, spans_of};
use tower_service::Service;

const VARIABLE: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

fn set(value: &str) {
    // SAFETY: set by this binary's only test before any other thread of it
    // reads the environment.
    unsafe { std::env::set_var(VARIABLE, value) };
}

#[test]
fn the_variable_replaces_the_known_methods() {
    // SAFETY: as in `set`.
    unsafe { std::env::remove_var("OTEL_CONFIG_FILE") };
    for (value, reason) in [
        (
            "GET, QUE RY",
            "\"QUE RY\" is not a method: ' ' is not allowed (letters, digits and !#$%&'*+-.^_`|~ are)",
        ),
        (
            "GET,,POST",
            "a method is empty: list them separated by commas (GET,POST,PURGE)",
        ),
    ] {
        set(value);
        let refused = spanflow::Pipeline::new()
            .with_simple_exporter(InMemorySpanExporter::default())
            .install();
        match refused {
            Err(InstallError::Config(error)) => {
                assert_eq!(
                    (error.variable, error.value.as_str(), error.reason.as_str()),
                    (VARIABLE, value, reason)
                );
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    set(" GET , PURGE ");
    installed();
    let app = Router::new()
        .route("/items/{id}", any(|| async { "ok" }))
        .layer(TraceLayer::new());

    // On a server: POST is not in the list any more.
    for (method, trace, name, recorded) in [
        ("POST", 1u128, "HTTP /items/{id}", "_OTHER"),
        ("PURGE", 2, "PURGE /items/{id}", "PURGE"),
    ] {
        let trace = TraceId::from(trace);
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri("/items/7")
            .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
            .body(Body::empty())
            .expect("a request");
        let response = futures::executor::block_on(app.clone().call(request)).expect("infallible");
        drop(response);
        let spans = spans_of(trace);
        assert_eq!(spans.len(), 1, "{spans:#?}");
        assert_eq!(spans[0].name, name);
        assert_eq!(
            attribute(&spans[0], "http.request.method"),
            Some(&Value::from(recorded))
        );
    }

    // On a client, sending to a real server.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let trace = runtime.block_on(async {
        let address = support::serve(app).await;
        let purge = Method::from_bytes(b"PURGE").expect("a method");
        let request = reqwest::Client::new().request(purge, format!("http://{address}/items/8"));
        support::traced_send(request).await
    });
    let spans = spans_of(trace);
    let client = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .expect("a client span");
    assert_eq!(client.name, "PURGE");
}
