//! The actix-web middleware with a real server on 127.0.0.1.

mod support;

use actix_web::{App, HttpResponse, HttpServer, web};
use futures::StreamExt;
use http::{HeaderName, Method};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Array, Context, KeyValue, Value};
use spanflow_http::{ActixTrace, HttpSpanOptions};

/// One piece of a streamed body, made by traced work.
#[spanflow::trace(args(index))]
async fn chunk(index: u32) -> Result<web::Bytes, std::convert::Infallible> {
    actix_web::rt::task::yield_now().await;
    Ok(web::Bytes::from(format!("{index}\n")))
}

async fn stream() -> HttpResponse {
    HttpResponse::Ok().streaming(futures::stream::iter(0..3).then(chunk))
}

/// A one-worker server on a loopback port with `routes` behind the
/// middleware.
fn serve(
    routes: fn(&mut web::ServiceConfig),
) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    serve_with(ActixTrace::new(), routes)
}

/// [`serve`] with `middleware`.
fn serve_with(
    middleware: ActixTrace,
    routes: fn(&mut web::ServiceConfig),
) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let server = HttpServer::new(move || App::new().wrap(middleware.clone()).configure(routes))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("a loopback port");
    let address = server.addrs()[0];
    let running = server.run();
    let handle = running.handle();
    actix_web::rt::spawn(running);
    (address, handle)
}

async fn user(path: web::Path<u32>) -> HttpResponse {
    // A plain handler adds to the current span: the request's.
    spanflow::current::set_attribute(KeyValue::new("user.id", i64::from(*path)));
    let trace = Context::current().span().span_context().trace_id();
    if *path == 500 {
        HttpResponse::InternalServerError().body(trace.to_string())
    } else {
        HttpResponse::Ok().body(trace.to_string())
    }
}

#[actix_web::test]
async fn requests_continue_the_callers_trace_inside_actix() {
    support::installed();
    let (address, handle) = serve(|routes| {
        routes.route("/users/{id}", web::get().to(user));
    });

    for (id, failed) in [(7, false), (500, true)] {
        let (trace, seen) = support::traced_get(format!(
            "http://{address}/users/{id}?X-Amz-Signature=f00d&tab=1"
        ))
        .await;
        assert_eq!(
            seen,
            trace.to_string(),
            "the handler ran in the caller's trace"
        );
        let spans = support::spans_of(trace);
        assert_eq!(spans.len(), 3);
        let client = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Client)
            .unwrap();
        let server = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Server)
            .unwrap();
        assert_eq!(server.name, "GET /users/{id}");
        assert_eq!(server.parent_span_id, client.span_context.span_id());
        assert!(server.parent_span_is_remote);
        assert_eq!(
            support::attribute(server, "http.route"),
            Some(&Value::from("/users/{id}"))
        );
        for (key, value) in [
            ("url.path", Value::from(format!("/users/{id}"))),
            ("url.query", Value::from("X-Amz-Signature=REDACTED&tab=1")),
            ("url.scheme", Value::from("http")),
            ("server.address", Value::from("127.0.0.1")),
            ("server.port", Value::I64(address.port().into())),
            ("network.protocol.version", Value::from("1.1")),
            ("client.address", Value::from("127.0.0.1")),
            ("network.peer.address", Value::from("127.0.0.1")),
        ] {
            assert_eq!(support::attribute(server, key), Some(&value), "{key}");
        }
        assert_eq!(
            support::attribute(server, "user.id"),
            Some(&Value::I64(id.into())),
            "what the handler added, on its request's span"
        );
        assert_eq!(matches!(server.status, Status::Error { .. }), failed);
        assert_eq!(matches!(client.status, Status::Error { .. }), failed);
    }
    handle.stop(true).await;
}

#[actix_web::test]
async fn a_proxys_forwarded_header_names_the_scheme_host_and_client() {
    support::installed();
    let (address, handle) = serve(|routes| {
        routes.route("/users/{id}", web::get().to(user));
    });
    let trace = support::get_with_headers(
        format!("http://{address}/users/7"),
        &[(
            "forwarded",
            "for=192.0.2.60;proto=https;host=shop.example:8443",
        )],
    )
    .await;
    let spans = support::spans_of(trace);
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("the server span");
    for (key, value) in [
        ("url.scheme", Value::from("https")),
        ("server.address", Value::from("shop.example")),
        ("server.port", Value::I64(8443)),
        ("client.address", Value::from("192.0.2.60")),
        ("network.peer.address", Value::from("127.0.0.1")),
    ] {
        assert_eq!(support::attribute(server, key), Some(&value), "{key}");
    }
    handle.stop(true).await;
}

#[actix_web::test]
async fn two_traceparent_lines_start_a_new_trace() {
    support::installed();
    let (address, handle) = serve(|routes| {
        routes.route("/users/{id}", web::get().to(user));
    });
    let sent = support::get_with_headers(
        format!("http://{address}/users/41"),
        &[(
            "traceparent",
            "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )],
    )
    .await;
    assert!(
        support::spans_of(sent).is_empty(),
        "neither line's trace continued"
    );
    let (exporter, pipeline) = support::installed();
    pipeline.flush().expect("flushed in time");
    let spans = exporter.get_finished_spans().expect("in-memory exporter");
    let server = spans
        .iter()
        .find(|s| support::attribute(s, "url.path") == Some(&Value::from("/users/41")))
        .expect("the request traced");
    assert_eq!(
        server.parent_span_id,
        opentelemetry::trace::SpanId::INVALID,
        "a new trace"
    );
    handle.stop(true).await;
}

#[actix_web::test]
async fn options_capture_headers_and_replace_the_known_methods() {
    support::installed();
    let options = HttpSpanOptions::new()
        .capture_request_headers([HeaderName::from_static("x-tenant")])
        .capture_response_headers([HeaderName::from_static("x-served-by")])
        .known_methods([Method::POST]);
    let (address, handle) = serve_with(ActixTrace::with_options(options), |routes| {
        routes.route(
            "/users/{id}",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .append_header(("x-served-by", "node-a"))
                    .append_header(("x-served-by", "node-b"))
                    .finish()
            }),
        );
    });
    let trace = support::get_with_headers(
        format!("http://{address}/users/7"),
        &[("x-tenant", "acme"), ("x-tenant", "globex")],
    )
    .await;
    let spans = support::spans_of(trace);
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("the server span");
    let strings =
        |items: [&'static str; 2]| Value::Array(Array::String(items.map(Into::into).to_vec()));
    for (key, value) in [
        ("http.request.header.x-tenant", strings(["acme", "globex"])),
        (
            "http.response.header.x-served-by",
            strings(["node-a", "node-b"]),
        ),
        ("http.request.method", Value::from("_OTHER")),
        ("http.request.method_original", Value::from("GET")),
    ] {
        assert_eq!(support::attribute(server, key), Some(&value), "{key}");
    }
    assert_eq!(server.name, "HTTP /users/{id}", "GET is not known here");
    handle.stop(true).await;
}

#[actix_web::test]
async fn the_server_span_covers_a_streamed_body_and_parents_its_work() {
    support::installed();
    let (address, handle) = serve(|routes| {
        routes.route("/stream", web::get().to(stream));
    });
    let (trace, body) = support::traced_get(format!("http://{address}/stream")).await;
    assert_eq!(body, "0\n1\n2\n");
    support::assert_streamed(&support::spans_of(trace), "GET /stream", "chunk", 3);
    handle.stop(true).await;
}
