//! Real HTTP hops on 127.0.0.1: reqwest → axum → reqwest-middleware → axum
//! make one trace with the right parents.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow::trace;
use spanflow_http::{RequestBuilderExt, TraceLayer, TracingMiddleware};

/// Service B: a user lookup; id 500 fails.
async fn service_b() -> SocketAddr {
    let app = Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move {
                // A plain handler adds to the current span: the request's.
                spanflow::current::set_attribute(KeyValue::new("user.id", i64::from(id)));
                tokio::task::yield_now().await;
                spanflow::current::add_event("looked up", Vec::new());
                match id {
                    500 => StatusCode::INTERNAL_SERVER_ERROR,
                    404 => StatusCode::NOT_FOUND,
                    _ => StatusCode::OK,
                }
            }),
        )
        .layer(TraceLayer::new());
    support::serve(app).await
}

/// Service A: forwards to B through a middleware client.
async fn service_a(b: SocketAddr) -> SocketAddr {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build();
    let app = Router::new()
        .route(
            "/hop/{id}",
            get(move |Path(id): Path<u32>| {
                let client = client.clone();
                async move {
                    let response = client
                        .get(format!("http://{b}/users/{id}"))
                        .send()
                        .await
                        .unwrap();
                    response.status()
                }
            }),
        )
        .layer(TraceLayer::new());
    support::serve(app).await
}

#[trace]
async fn request(a: SocketAddr, id: u32) -> (TraceId, StatusCode) {
    let trace = Context::current().span().span_context().trace_id();
    let response = reqwest::Client::new()
        .get(format!("http://{a}/hop/{id}"))
        .send_traced()
        .await
        .expect("A answers");
    (trace, response.status())
}

fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hops_make_one_trace_with_the_right_parents() {
    support::installed();
    let a = service_a(service_b().await).await;
    let (trace, status) = request(a, 7).await;
    assert_eq!(status, StatusCode::OK);

    let spans = support::spans_of(trace);
    assert_eq!(
        spans.len(),
        5,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = &find(&spans, "request", SpanKind::Internal)[0];
    let clients = find(&spans, "GET", SpanKind::Client);
    let server_a = find(&spans, "GET /hop/{id}", SpanKind::Server)[0];
    let server_b = find(&spans, "GET /users/{id}", SpanKind::Server)[0];
    let client_root = clients
        .iter()
        .find(|s| s.parent_span_id == root.span_context.span_id())
        .unwrap();
    let client_a = clients
        .iter()
        .find(|s| s.parent_span_id == server_a.span_context.span_id())
        .unwrap();

    assert_eq!(server_a.parent_span_id, client_root.span_context.span_id());
    assert!(
        server_a.parent_span_is_remote,
        "A's parent came over the wire"
    );
    assert_eq!(server_b.parent_span_id, client_a.span_context.span_id());
    assert_eq!(
        support::attribute(server_b, "http.route"),
        Some(&Value::from("/users/{id}"))
    );
    assert_eq!(
        support::attribute(server_b, "http.request.method"),
        Some(&Value::from("GET"))
    );
    assert_eq!(
        support::attribute(server_b, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        support::attribute(server_b, "url.path"),
        Some(&Value::from("/users/7"))
    );
    assert_eq!(
        support::attribute(server_b, "url.scheme"),
        Some(&Value::from("http"))
    );
    assert_eq!(
        support::attribute(server_b, "server.address"),
        Some(&Value::from("127.0.0.1")),
        "from the Host header"
    );
    assert_eq!(
        support::attribute(server_b, "server.port"),
        support::attribute(client_a, "server.port")
    );
    assert_eq!(
        support::attribute(server_b, "network.protocol.version"),
        Some(&Value::from("1.1"))
    );
    assert_eq!(
        support::attribute(server_b, "user.id"),
        Some(&Value::I64(7)),
        "what the handler added, on its request's span"
    );
    let events: Vec<&str> = server_b.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["looked up"], "added after an await, too");
    assert_eq!(
        support::attribute(client_a, "url.full"),
        Some(&Value::from(format!(
            "http://{}/users/7",
            server_b_address(client_a)
        )))
    );
    assert_eq!(
        support::attribute(client_a, "server.address"),
        Some(&Value::from("127.0.0.1"))
    );
    for span in [server_b, client_a] {
        assert_eq!(
            support::attribute(span, "code.file.path"),
            None,
            "an adapter's span names no file of the adapter"
        );
    }
    assert_eq!(
        support::attribute(client_a, "network.peer.address"),
        Some(&Value::from("127.0.0.1")),
        "the connection's peer"
    );
    assert_eq!(
        support::attribute(client_a, "network.peer.port"),
        support::attribute(client_a, "server.port")
    );
    assert_eq!(
        support::attribute(client_a, "network.protocol.version"),
        Some(&Value::from("1.1")),
        "the response's version"
    );
    assert_eq!(client_a.status, Status::Unset);
}

fn server_b_address(client: &SpanData) -> String {
    let port = match support::attribute(client, "server.port") {
        Some(Value::I64(port)) => *port,
        other => panic!("server.port: {other:?}"),
    };
    format!("127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_marks_the_server_and_client_spans_failed() {
    support::installed();
    let a = service_a(service_b().await).await;
    let (trace, status) = request(a, 500).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let spans = support::spans_of(trace);
    let server_b = find(&spans, "GET /users/{id}", SpanKind::Server)[0];
    assert_eq!(
        server_b.status,
        Status::error(""),
        "no description: the code says it"
    );
    assert_eq!(
        support::attribute(server_b, "error.type"),
        Some(&Value::from("500"))
    );
    let failed_clients = find(&spans, "GET", SpanKind::Client)
        .into_iter()
        .filter(|s| matches!(s.status, Status::Error { .. }))
        .count();
    assert_eq!(failed_clients, 2, "both client hops saw the 500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_fails_the_client_spans_not_the_server_ones() {
    support::installed();
    let a = service_a(service_b().await).await;
    let (trace, status) = request(a, 404).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let spans = support::spans_of(trace);
    let servers: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    let clients = find(&spans, "GET", SpanKind::Client);
    assert_eq!((servers.len(), clients.len()), (2, 2), "{spans:#?}");
    for server in servers {
        assert_eq!(server.status, Status::Unset, "{}", server.name);
        assert_eq!(support::attribute(server, "error.type"), None);
    }
    for client in clients {
        assert_eq!(client.status, Status::error(""));
        assert_eq!(
            support::attribute(client, "error.type"),
            Some(&Value::from("404"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_traceparent_starts_a_new_trace_and_the_request_proceeds() {
    support::installed();
    let b = service_b().await;
    let response = reqwest::Client::new()
        .get(format!("http://{b}/users/9"))
        .header("traceparent", "00-garbage-b7ad6b7169203331-01")
        .header("tracestate", "congo=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (exporter, pipeline) = support::installed();
    pipeline.flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let server = spans
        .iter()
        .find(|s| support::attribute(s, "url.path") == Some(&Value::from("/users/9")))
        .expect("B traced the request");
    assert_eq!(server.parent_span_id, SpanId::INVALID, "a new trace");
    assert_eq!(
        server.span_context.trace_state().header(),
        "",
        "tracestate ignored with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_traceparent_lines_start_a_new_trace() {
    support::installed();
    let b = service_b().await;
    let first = "0af7651916cd43dd8448eb211c80319c";
    let second = "1af7651916cd43dd8448eb211c80319c";
    // The same line twice, and two different lines: W3C Trace Context
    // makes either invalid.
    for (path, lines) in [
        ("/users/31", [first, first]),
        ("/users/32", [first, second]),
    ] {
        let mut request = reqwest::Client::new().get(format!("http://{b}{path}"));
        for trace in lines {
            request = request.header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"));
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
        let (exporter, pipeline) = support::installed();
        pipeline.flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        let server = spans
            .iter()
            .find(|s| support::attribute(s, "url.path") == Some(&Value::from(path)))
            .expect("B traced the request");
        assert_eq!(
            server.parent_span_id,
            SpanId::INVALID,
            "a new trace: {path}"
        );
        let trace = server.span_context.trace_id().to_string();
        assert!(trace != first && trace != second, "{path}: {trace}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_random_flag_and_vendor_tracestate_survive_every_hop() {
    support::installed();
    let a = service_a(service_b().await).await;
    // A caller in another process sent sampled + random, and two vendors'
    // entries; each hop must pass them on untouched.
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    let response = reqwest::Client::new()
        .get(format!("http://{a}/hop/11"))
        .header("traceparent", incoming)
        .header("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let spans = support::spans_of(trace);
    assert_eq!(
        spans.len(),
        3,
        "A's server and client spans and B's server span"
    );
    for span in &spans {
        assert_eq!(
            span.span_context.trace_flags().to_u8(),
            0x03,
            "{}: flags",
            span.name
        );
        assert_eq!(
            span.span_context.trace_state().header(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "{}: tracestate",
            span.name
        );
    }
    let server_a = find(&spans, "GET /hop/{id}", SpanKind::Server)[0];
    assert_eq!(
        format!("{:016x}", server_a.parent_span_id),
        "00f067aa0ba902b7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsampled_request_still_sends_a_fresh_parent_id_per_hop() {
    support::installed();
    let echo = Router::new().route(
        "/echo",
        get(|headers: axum::http::HeaderMap| async move {
            headers
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        }),
    );
    let echo = support::serve(echo).await;
    let unsampled = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        let mut headers = std::collections::HashMap::new();
        headers.insert("traceparent".to_owned(), unsampled.to_owned());
        propagator.extract(&headers)
    });
    let send = || async {
        reqwest::Client::new()
            .get(format!("http://{echo}/echo"))
            .send_traced()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (first, second) =
        spanflow::in_context(parent, async { (send().await, send().await) }).await;
    for sent in [&first, &second] {
        assert!(
            sent.starts_with("00-5bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(sent.ends_with("-00"), "still unsampled: {sent}");
        assert!(
            !sent.contains("00f067aa0ba902b7"),
            "a fresh parent id: {sent}"
        );
    }
    assert_ne!(first, second, "one parent id per request");
}

#[trace]
async fn request_a_bug(address: SocketAddr) -> (TraceId, bool) {
    let trace = Context::current().span().span_context().trace_id();
    let answered = reqwest::Client::new()
        .get(format!("http://{address}/bug"))
        .send_traced()
        .await
        .is_ok();
    (trace, answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_ends_its_span_failed_with_the_message() {
    support::installed();
    let app = Router::new()
        .route(
            "/bug",
            get(|| async {
                tokio::task::yield_now().await;
                if std::hint::black_box(true) {
                    panic!("the handler has a bug");
                }
                StatusCode::OK
            }),
        )
        .layer(TraceLayer::new());
    let (trace, answered) = request_a_bug(support::serve(app).await).await;
    assert!(!answered, "the connection went down with the handler");
    let spans = support::spans_of(trace);
    let server = &find(&spans, "GET /bug", SpanKind::Server)[0];
    assert_eq!(server.status, Status::error("the handler has a bug"));
    let events: Vec<&str> = server.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["exception"], "{server:#?}");
}

/// A request of `url` made as a `reqwest::Request` and executed through
/// the middleware (reqwest's builder would move a URL's credentials into an
/// `Authorization` header before the middleware sees the URL; a request
/// made by hand keeps them), inside a new root span; its trace and status.
#[trace]
async fn executed(method: reqwest::Method, url: &str) -> (TraceId, StatusCode) {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build();
    let request = reqwest::Request::new(method, url.parse().expect("a URL"));
    let response = client.execute(request).await.expect("the server answers");
    let trace = Context::current().span().span_context().trace_id();
    (trace, response.status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_signatures_in_a_url_are_redacted() {
    support::installed();
    let b = service_b().await;
    for (url, shown, query) in [
        (
            format!("http://reader:s3cret@{b}/users/7"),
            format!("http://REDACTED:REDACTED@{b}/users/7"),
            None,
        ),
        (
            format!("http://{b}/users/8?plain=1"),
            format!("http://{b}/users/8?plain=1"),
            Some("plain=1"),
        ),
        (
            format!("http://{b}/users/9?X-Amz-Signature=f00d&plain=1&sig=abc"),
            format!("http://{b}/users/9?X-Amz-Signature=REDACTED&plain=1&sig=REDACTED"),
            Some("X-Amz-Signature=REDACTED&plain=1&sig=REDACTED"),
        ),
    ] {
        let (trace, status) = executed(reqwest::Method::GET, &url).await;
        assert_eq!(status, StatusCode::OK);
        let spans = support::spans_of(trace);
        let client = find(&spans, "GET", SpanKind::Client)[0];
        assert_eq!(
            support::attribute(client, "url.full"),
            Some(&Value::from(shown))
        );
        let server = find(&spans, "GET /users/{id}", SpanKind::Server)[0];
        assert_eq!(
            support::attribute(server, "url.query"),
            query.map(Value::from).as_ref(),
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_the_conventions_do_not_name_is_other_and_kept_as_sent() {
    support::installed();
    let b = service_b().await;
    let method = reqwest::Method::from_bytes(b"PURGE").expect("a method");
    let (trace, status) = executed(method, &format!("http://{b}/users/7")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let spans = support::spans_of(trace);
    let client = find(&spans, "HTTP", SpanKind::Client);
    let server = find(&spans, "HTTP /users/{id}", SpanKind::Server);
    for span in [client[0], server[0]] {
        assert_eq!(
            support::attribute(span, "http.request.method"),
            Some(&Value::from("_OTHER"))
        );
        assert_eq!(
            support::attribute(span, "http.request.method_original"),
            Some(&Value::from("PURGE"))
        );
    }
    let named = find(&spans, "GET", SpanKind::Client);
    assert!(named.is_empty(), "{spans:#?}");
}

/// The SERVER span's `keys` for a GET to an app served with axum's
/// `ConnectInfo`, sent with `headers`.
async fn server_attributes(headers: &[(&str, &str)], keys: &[&str]) -> Vec<Option<Value>> {
    let app = Router::new()
        .route("/users/{id}", get(|| async { "ok" }))
        .layer(TraceLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let trace = support::get_with_headers(format!("http://{address}/users/7"), headers).await;
    let spans = support::spans_of(trace);
    let server = find(&spans, "GET /users/{id}", SpanKind::Server)[0];
    keys.iter()
        .map(|key| support::attribute(server, key).cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_name_the_scheme_host_and_client_and_the_peer_is_the_connection() {
    support::installed();
    let keys = [
        "url.scheme",
        "server.address",
        "server.port",
        "client.address",
        "network.peer.address",
    ];
    let text = |value: &str| Some(Value::from(value.to_owned()));
    let direct = server_attributes(&[], &keys).await;
    assert_eq!(direct[0], text("http"));
    assert_eq!(direct[1], text("127.0.0.1"));
    assert!(matches!(direct[2], Some(Value::I64(_))), "{direct:?}");
    assert_eq!(direct[3..], [text("127.0.0.1"), text("127.0.0.1")]);

    let forwarded = server_attributes(
        &[
            (
                "forwarded",
                "for=\"[2001:db8::17]:4711\";proto=https;host=shop.example:8443, for=10.0.0.1",
            ),
            ("x-forwarded-proto", "http"),
        ],
        &keys,
    )
    .await;
    assert_eq!(
        forwarded,
        [
            text("https"),
            text("shop.example"),
            Some(Value::I64(8443)),
            text("2001:db8::17"),
            text("127.0.0.1"),
        ]
    );

    let x_forwarded = server_attributes(
        &[
            ("x-forwarded-proto", "HTTPS"),
            ("x-forwarded-host", "shop.example"),
            ("x-forwarded-for", "198.51.100.7, 10.0.0.1"),
        ],
        &keys,
    )
    .await;
    assert_eq!(
        x_forwarded,
        [
            text("https"),
            text("shop.example"),
            None,
            text("198.51.100.7"),
            text("127.0.0.1"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_and_a_timeout_say_what_went_wrong() {
    support::installed();
    // A port nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap();
    drop(closed);
    let slow = support::serve(Router::new().route(
        "/slow",
        get(|| tokio::time::sleep(std::time::Duration::from_secs(30))),
    ))
    .await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    for (url, expected) in [
        (format!("http://{closed_address}/"), "connect"),
        (format!("http://{slow}/slow"), "timeout"),
    ] {
        let root = spanflow::span!("caller");
        let trace = root.span_context().trace_id();
        let outcome = spanflow::TracedExt::in_span(client.get(&url).send_traced(), root).await;
        assert!(outcome.is_err(), "{url}");
        let spans = support::spans_of(trace);
        let client_span = find(&spans, "GET", SpanKind::Client)[0];
        assert_eq!(
            support::attribute(client_span, "error.type"),
            Some(&Value::from(expected)),
            "{url}"
        );
        assert!(matches!(client_span.status, Status::Error { .. }));
    }
}
