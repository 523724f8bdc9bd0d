//! gRPC over real tonic on 127.0.0.1: the client and server layers make one
//! trace, with the RPC conventions and the status from the trailers.

mod support;

use std::sync::Mutex;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, Value};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use spanflow::trace;
use spanflow_http::{GrpcClientLayer, GrpcServerLayer};
use tower_layer::Layer;

/// Answers OK, or UNAVAILABLE when the request carries no resource spans
/// and `fail` is set; remembers the trace each call ran in.
struct Service {
    fail: bool,
    seen: &'static Mutex<Vec<TraceId>>,
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let trace = Context::current().span().span_context().trace_id();
        self.seen.lock().unwrap().push(trace);
        // A plain handler adds to the current span: the call's.
        spanflow::current::add_event("exported", Vec::new());
        if self.fail {
            Err(tonic::Status::unavailable("try later"))
        } else {
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }
}

async fn serve(fail: bool, seen: &'static Mutex<Vec<TraceId>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(TraceServiceServer::new(Service { fail, seen }))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    format!("http://{address}")
}

#[trace]
async fn call(endpoint: String) -> (TraceId, Result<(), tonic::Code>) {
    let trace = Context::current().span().span_context().trace_id();
    let uri: http::Uri = endpoint.parse().unwrap();
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .expect("the server listens");
    let layer = GrpcClientLayer::new().with_server(&uri);
    let mut client = TraceServiceClient::new(layer.layer(channel));
    let outcome = client
        .export(ExportTraceServiceRequest::default())
        .await
        .map(|_| ())
        .map_err(|status| status.code());
    (trace, outcome)
}

const METHOD: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_makes_one_trace_with_the_rpc_conventions() {
    support::installed();
    static SEEN: Mutex<Vec<TraceId>> = Mutex::new(Vec::new());
    let endpoint = serve(false, &SEEN).await;
    let (trace, outcome) = call(endpoint).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(
        *SEEN.lock().unwrap(),
        [trace],
        "the handler ran in the caller's trace"
    );

    let spans = support::spans_of(trace);
    assert_eq!(
        spans.len(),
        3,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = spans.iter().find(|s| s.name == "call").unwrap();
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(client.parent_span_id, root.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
    for span in [client, server] {
        assert_eq!(span.name, METHOD);
        assert_eq!(
            support::attribute(span, "rpc.system.name"),
            Some(&Value::from("grpc"))
        );
        assert_eq!(
            support::attribute(span, "rpc.method"),
            Some(&Value::from(METHOD))
        );
        assert_eq!(
            support::attribute(span, "rpc.response.status_code"),
            Some(&Value::from("OK"))
        );
        assert_eq!(span.status, Status::Unset);
    }
    for span in [client, server] {
        assert_eq!(
            support::attribute(span, "server.address"),
            Some(&Value::from("127.0.0.1")),
            "{:?}",
            span.span_kind
        );
    }
    assert_eq!(
        support::attribute(server, "server.port"),
        support::attribute(client, "server.port")
    );
    assert_eq!(
        support::attribute(client, "peer.service"),
        None,
        "no mapping names the server's host"
    );
    assert!(matches!(
        support::attribute(server, "server.port"),
        Some(Value::I64(_))
    ));
    // The client's end of the connection, as tonic's server saw it.
    assert_eq!(
        support::attribute(server, "network.peer.address"),
        Some(&Value::from("127.0.0.1"))
    );
    let Some(Value::I64(peer_port)) = support::attribute(server, "network.peer.port") else {
        panic!("the peer's port on {server:#?}");
    };
    assert_ne!(
        Some(&Value::I64(*peer_port)),
        support::attribute(server, "server.port")
    );
    let events: Vec<&str> = server.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(
        events,
        ["exported"],
        "what the handler added, on the call's span"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_server_fails_both_spans() {
    support::installed();
    static SEEN: Mutex<Vec<TraceId>> = Mutex::new(Vec::new());
    let endpoint = serve(true, &SEEN).await;
    let (trace, outcome) = call(endpoint).await;
    assert_eq!(outcome, Err(tonic::Code::Unavailable));
    let spans = support::spans_of(trace);
    for kind in [SpanKind::Client, SpanKind::Server] {
        let span = spans.iter().find(|s| s.span_kind == kind).unwrap();
        assert_eq!(
            support::attribute(span, "rpc.response.status_code"),
            Some(&Value::from("UNAVAILABLE"))
        );
        assert_eq!(span.status, Status::error("try later"), "{kind:?}");
    }
}

/// Answers OK with `x-served-by` in the response metadata; fails with
/// UNAVAILABLE (the status and `x-served-by` in a trailers-only response)
/// when the request's `x-fail` metadata is set.
struct Tagging;

#[tonic::async_trait]
impl TraceService for Tagging {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("x-served-by", "node-a".parse().expect("ASCII"));
        if request.metadata().contains_key("x-fail") {
            return Err(tonic::Status::with_metadata(
                tonic::Code::Unavailable,
                "try later",
                metadata,
            ));
        }
        let mut response = tonic::Response::new(ExportTraceServiceResponse::default());
        *response.metadata_mut() = metadata;
        Ok(response)
    }
}

/// A call with `x-tenant` (and `x-fail` when `fail`) in its metadata, both
/// layers capturing `x-tenant` of requests and `x-served-by` and
/// `grpc-status` of responses; the trace.
async fn call_capturing(fail: bool) -> TraceId {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let keys = || {
        (
            [http::HeaderName::from_static("x-tenant")],
            [
                http::HeaderName::from_static("x-served-by"),
                http::HeaderName::from_static("grpc-status"),
            ],
        )
    };
    let (request_keys, response_keys) = keys();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(
                GrpcServerLayer::new()
                    .capture_request_metadata(request_keys)
                    .capture_response_metadata(response_keys),
            )
            .add_service(TraceServiceServer::new(Tagging))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .expect("the server listens");
    let (request_keys, response_keys) = keys();
    let layer = GrpcClientLayer::new()
        .capture_request_metadata(request_keys)
        .capture_response_metadata(response_keys);
    let mut client = TraceServiceClient::new(layer.layer(channel));
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let mut request = tonic::Request::new(ExportTraceServiceRequest::default());
    request
        .metadata_mut()
        .insert("x-tenant", "acme".parse().expect("ASCII"));
    if fail {
        request
            .metadata_mut()
            .insert("x-fail", "1".parse().expect("ASCII"));
    }
    let outcome = spanflow::TracedExt::in_span(client.export(request), root).await;
    assert_eq!(outcome.is_err(), fail);
    trace
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_asked_for_is_recorded_from_headers_and_trailers() {
    support::installed();
    let strings =
        |item: &'static str| Value::Array(opentelemetry::Array::String(vec![item.into()]));
    // OK: `grpc-status` comes in the trailers; failed: in the headers of a
    // trailers-only response.
    for (fail, status) in [(false, "0"), (true, "14")] {
        let spans = support::spans_of(call_capturing(fail).await);
        for kind in [SpanKind::Client, SpanKind::Server] {
            let span = spans.iter().find(|s| s.span_kind == kind).unwrap();
            for (key, value) in [
                ("rpc.request.metadata.x-tenant", strings("acme")),
                ("rpc.response.metadata.x-served-by", strings("node-a")),
                ("rpc.response.metadata.grpc-status", strings(status)),
            ] {
                assert_eq!(
                    support::attribute(span, key),
                    Some(&value),
                    "{key} on {kind:?}, failed: {fail}"
                );
            }
            assert_eq!(
                span.attributes
                    .iter()
                    .filter(|kv| kv.key.as_str().starts_with("rpc.response.metadata."))
                    .count(),
                2,
                "each key once"
            );
            assert_eq!(
                support::attribute(span, "rpc.request.metadata.x-fail"),
                None
            );
        }
    }
}

/// Calls `path` on a real tonic server in a new root span; the trace and
/// the code the call ended with.
async fn call_path(endpoint: String, path: &'static str) -> (TraceId, tonic::Code) {
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .expect("the server listens");
    let mut client = tonic::client::Grpc::new(GrpcClientLayer::new().layer(channel));
    client.ready().await.expect("ready");
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let call = client.unary(
        tonic::Request::new(ExportTraceServiceRequest::default()),
        http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::<ExportTraceServiceRequest, ExportTraceServiceResponse>::default(),
    );
    let code = match spanflow::TracedExt::in_span(call, root).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    (trace, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_the_server_does_not_know_is_other_on_the_server() {
    support::installed();
    static SEEN: Mutex<Vec<TraceId>> = Mutex::new(Vec::new());
    let endpoint = serve(false, &SEEN).await;
    for path in [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Forget",
        "/no.Such/Service",
    ] {
        let (trace, code) = call_path(endpoint.clone(), path).await;
        assert_eq!(code, tonic::Code::Unimplemented, "{path}");
        let spans = support::spans_of(trace);
        let of_kind = |kind| spans.iter().find(|s| s.span_kind == kind).unwrap();
        let (client, server) = (of_kind(SpanKind::Client), of_kind(SpanKind::Server));
        let method = &path[1..];
        // The server names made-up methods after the system, keeping the
        // method as called apart; the client called a method it knows.
        assert_eq!(server.name, "grpc", "{path}");
        let methods: Vec<&Value> = server
            .attributes
            .iter()
            .filter(|kv| kv.key.as_str() == "rpc.method")
            .map(|kv| &kv.value)
            .collect();
        assert_eq!(methods, [&Value::from("_OTHER")], "once, replaced");
        assert_eq!(
            support::attribute(server, "rpc.method_original"),
            Some(&Value::from(method))
        );
        assert_eq!(client.name, method);
        assert_eq!(
            support::attribute(client, "rpc.method"),
            Some(&Value::from(method))
        );
        assert_eq!(support::attribute(client, "rpc.method_original"), None);
    }

    // A path that is not a method at all: `_OTHER` from the start.
    let (trace, code) = call_path(endpoint.clone(), "/nonsense").await;
    assert_eq!(code, tonic::Code::Unimplemented);
    for span in support::spans_of(trace)
        .iter()
        .filter(|span| span.span_kind != SpanKind::Internal)
    {
        assert_eq!(span.name, "grpc", "{:?}", span.span_kind);
        for (key, value) in [
            ("rpc.method", "_OTHER"),
            ("rpc.method_original", "nonsense"),
        ] {
            let values: Vec<&Value> = span
                .attributes
                .iter()
                .filter(|kv| kv.key.as_str() == key)
                .map(|kv| &kv.value)
                .collect();
            assert_eq!(
                values,
                [&Value::from(value)],
                "{key} on {:?}",
                span.span_kind
            );
        }
    }

    // A known method keeps its name.
    let (trace, code) = call_path(endpoint, METHOD_PATH).await;
    assert_eq!(code, tonic::Code::Ok);
    let spans = support::spans_of(trace);
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server.name, METHOD);
    assert_eq!(support::attribute(server, "rpc.method_original"), None);
}

const METHOD_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_given_an_origin_records_the_server_without_with_server() {
    support::installed();
    static SEEN: Mutex<Vec<TraceId>> = Mutex::new(Vec::new());
    let endpoint = serve(false, &SEEN).await;
    let origin: http::Uri = endpoint.parse().unwrap();
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .expect("the server listens");
    let mut client =
        TraceServiceClient::with_origin(GrpcClientLayer::new().layer(channel), origin.clone());
    let root = spanflow::span!("caller");
    let trace = root.span_context().trace_id();
    let call = client.export(ExportTraceServiceRequest::default());
    spanflow::TracedExt::in_span(call, root)
        .await
        .expect("the server answers");
    let spans = support::spans_of(trace);
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    assert_eq!(
        support::attribute(client, "server.address"),
        Some(&Value::from("127.0.0.1"))
    );
    assert_eq!(
        support::attribute(client, "server.port"),
        Some(&Value::I64(i64::from(origin.port_u16().unwrap())))
    );
}
