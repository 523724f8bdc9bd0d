//! A configuration file's `instrumentation/development` section reaches
//! layers made without options: its sensitive query keys replace the HTTP
//! conventions' default list, its `http.server` and `http.client` sections
//! say which headers spans capture and which methods they know, and its
//! `peer.service_mapping` names the service each client calls. One test,
//! so that it alone sets this process's environment.

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow_http::{GrpcClientLayer, HttpClientLayer, TraceLayer};
use support::{attribute, installed, spans_of};
use tower_layer::Layer;
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
        known_methods: [GET, PURGE]
      client:
        request_captured_headers: [x-tenant]
        known_methods: [PURGE]
    peer:
      service_mapping:
        - peer: 127.0.0.1
          service: items
        - peer: \"127.0.0.1:1\"
          service: not-this-port
        - peer: localhost
          service: not-this-host
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

    // A PURGE from plain reqwest to a real server: known on both sides, and
    // the client captures the tenant too.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let trace = runtime.block_on(async {
        let address = support::serve(app).await;
        let purge = Method::from_bytes(b"PURGE").expect("a method");
        let request = reqwest::Client::new()
            .request(purge, format!("http://{address}/items/8"))
            .header("x-tenant", "globex");
        support::traced_send(request).await
    });
    let spans = spans_of(trace);
    let of_kind = |kind| {
        spans
            .iter()
            .find(|span| span.span_kind == kind)
            .expect("a span of each kind")
    };
    let (client, server) = (of_kind(SpanKind::Client), of_kind(SpanKind::Server));
    assert_eq!(
        attribute(client, "peer.service"),
        Some(&Value::from("items")),
        "the host's entry: the one for port 1 is not this port's"
    );
    assert_eq!(attribute(server, "peer.service"), None);
    assert_eq!(client.name, "PURGE");
    assert_eq!(server.name, "PURGE /items/{id}");
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

    tower_and_grpc_clients_name_the_mapped_service();
}

/// The file's peer services reach tower clients and the gRPC client layer
/// made without options: requests to the mapped host carry its service.
fn tower_and_grpc_clients_name_the_mapped_service() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let address = runtime.block_on(support::serve(
        Router::new().route("/{*rest}", any(|| async { "ok" })),
    ));
    let base = format!("http://{address}");
    let client = || Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();

    let stock = Request::get(format!("{base}/stock/7"));
    let traced = HttpClientLayer::new().layer(client());
    let service = runtime.block_on(peer_service_of_a_call(traced, stock));
    assert_eq!(service, Some(Value::from("items")));

    let uri: http::Uri = base.parse().expect("a URI");
    for (layer, expected) in [
        (GrpcClientLayer::new().with_server(&uri), "items"),
        (
            GrpcClientLayer::new()
                .with_peer_service("inventory")
                .with_server(&uri),
            "inventory",
        ),
    ] {
        // The layer over a plain HTTP/1 client: the span is the layer's,
        // whatever answers.
        let call = Request::post(format!("{base}/items.Stock/Get"));
        let service = runtime.block_on(peer_service_of_a_call(layer.layer(client()), call));
        assert_eq!(service, Some(Value::from(expected)));
    }
}

/// Sends `request` through `traced` in a new root span; the `peer.service`
/// of the one client span it made.
async fn peer_service_of_a_call<S, B>(
    mut traced: S,
    request: http::request::Builder,
) -> Option<Value>
where
    S: Service<Request<Empty<Bytes>>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let request = request.body(Empty::new()).expect("a request");
    let response = spanflow::TracedExt::in_span(async { traced.call(request).await }, root)
        .await
        .expect("the server answers");
    drop(response);
    let spans = spans_of(trace);
    let clients: Vec<&SpanData> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 1, "{spans:#?}");
    attribute(clients[0], "peer.service").cloned()
}
