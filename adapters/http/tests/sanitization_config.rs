//! A configuration file's list of sensitive query keys replaces the HTTP
//! conventions' default one in what the server layer records. One test, so
//! that it alone sets this process's environment.

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use opentelemetry::Value;
use opentelemetry::trace::TraceId;
use spanflow_http::TraceLayer;
use support::{attribute, installed, spans_of};
use tower_service::Service;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[test]
fn the_files_sensitive_query_keys_replace_the_default_list() {
    let path = std::env::temp_dir().join(format!(
        "spanflow-http-sanitization-{}.yaml",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "file_format: \"1.0\"
propagator:
  composite: [tracecontext:]
instrumentation/development:
  general:
    sanitization:
      url:
        sensitive_query_parameters: [token]
",
    )
    .expect("the temporary directory is writable");
    // SAFETY: set before the pipeline or any other thread of this binary
    // reads the environment.
    unsafe { std::env::set_var("OTEL_CONFIG_FILE", &path) };
    assert_eq!(
        spanflow::config::sensitive_query_parameters(),
        Some(vec!["token".to_owned()])
    );
    installed();

    let mut app = Router::new()
        .route("/items/{id}", get(|| async { "ok" }))
        .layer(TraceLayer::new());
    let request = Request::get("/items/7?token=s3cret&sig=kept&page=2")
        .header("traceparent", format!("00-{TRACE}-b7ad6b7169203331-01"))
        .body(Body::empty())
        .expect("a request");
    let response = futures::executor::block_on(app.call(request)).expect("infallible");
    assert_eq!(response.status(), http::StatusCode::OK);
    drop(response);
    let _ = std::fs::remove_file(path);

    let spans = spans_of(TraceId::from_hex(TRACE).expect("hex"));
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(
        attribute(&spans[0], "url.query"),
        Some(&Value::from("token=REDACTED&sig=kept&page=2")),
        "the file's list, not the conventions' default"
    );
}
