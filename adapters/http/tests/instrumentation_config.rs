//! A configuration file's `instrumentation/development` section reaches
//! layers made without options: its sensitive query keys replace the HTTP
//! conventions' default list, and its `http.server` and `http.client`
//! sections say which headers spans capture and which methods they know.
//! One test, so that it alone sets this process's environment.

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use http::{Method, Request};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{Array, Value};
use spanflow_http::{RequestBuilderExt, TraceLayer};
use support::{attribute, installed, spans_of};
use tower_service::Service;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn strings(items: &[&'static str]) -> Value {
    Value::Array(Array::String(
        items.iter().copied().map(Into::into).collect(),
    ))
}

#[test]
fn the_files_instrumentation_section_reaches_layers_made_without_options() {
    let path = std::env::temp_dir().join(format!(
        "spanflow-http-instrumentation-{}.yaml",
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
    http:
      server:
        request_captured_headers: [X-Tenant]
        response_captured_headers: [content-type]
        known_methods: [GET, QUERY]
      client:
        request_captured_headers: [x-tenant]
        known_methods: [QUERY]
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

    let app = Router::new()
        .route("/items/{id}", any(|| async { "ok" }))
        .layer(TraceLayer::new());
    let request = Request::get("/items/7?token=s3cret&sig=kept&page=2")
        .header("traceparent", format!("00-{TRACE}-b7ad6b7169203331-01"))
        .header("x-tenant", "acme")
        .body(Body::empty())
        .expect("a request");
    let response = futures::executor::block_on(app.clone().call(request)).expect("infallible");
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
    assert_eq!(
        attribute(&spans[0], "http.request.header.x-tenant"),
        Some(&strings(&["acme"])),
        "the file's name, lower-cased as the conventions ask"
    );
    assert_eq!(
        attribute(&spans[0], "http.response.header.content-type"),
        Some(&strings(&["text/plain; charset=utf-8"]))
    );

    // A QUERY from plain reqwest to a real server: known on both sides, and
    // the client captures the tenant too.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let trace = runtime.block_on(async {
        let address = support::serve(app).await;
        let root = spanflow::span!("caller");
        let trace = root.span_context().trace_id();
        let send = reqwest::Client::new()
            .request(
                Method::from_bytes(b"QUERY").expect("a method"),
                format!("http://{address}/items/8"),
            )
            .header("x-tenant", "globex")
            .send_traced();
        let response = spanflow::TracedExt::in_span(send, root)
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200);
        trace
    });
    let spans = spans_of(trace);
    let of_kind = |kind| {
        spans
            .iter()
            .find(|span| span.span_kind == kind)
            .expect("a span of each kind")
    };
    let (client, server) = (of_kind(SpanKind::Client), of_kind(SpanKind::Server));
    assert_eq!(client.name, "QUERY");
    assert_eq!(server.name, "QUERY /items/{id}");
    for span in [client, server] {
        assert_eq!(
            attribute(span, "http.request.header.x-tenant"),
            Some(&strings(&["globex"]))
        );
    }
    assert_eq!(
        attribute(client, "http.response.header.content-type"),
        None,
        "the client's section does not ask for it"
    );
}
