//! One trace across both protocols on 127.0.0.1:
//! reqwest → axum → tonic client → tonic server → reqwest → axum.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use opentelemetry::trace::SpanKind;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use spanflow_http::{GrpcClientLayer, GrpcServerLayer, RequestBuilderExt, TraceLayer};
use tower_layer::Layer;

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

/// The gRPC hop's handler calls the last HTTP service.
struct Inventory {
    last: SocketAddr,
}

#[tonic::async_trait]
impl TraceService for Inventory {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        reqwest::Client::new()
            .get(format!("http://{}/stock", self.last))
            .send_traced()
            .await
            .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_grpc_hops_make_one_trace() {
    support::installed();

    // Last: an axum service.
    let (listener, last) = listen().await;
    let app = Router::new()
        .route("/stock", get(|| async { "3" }))
        .layer(TraceLayer::new());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Middle: a tonic service that calls it.
    let (listener, grpc) = listen().await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(TraceServiceServer::new(Inventory { last }))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    // First: an axum service that calls the tonic one.
    let (listener, first) = listen().await;
    let grpc_uri: http::Uri = format!("http://{grpc}").parse().unwrap();
    let app = Router::new()
        .route(
            "/checkout",
            get(move || {
                let grpc_uri = grpc_uri.clone();
                async move {
                    let channel = tonic::transport::Channel::builder(grpc_uri.clone())
                        .connect()
                        .await
                        .unwrap();
                    let layer = GrpcClientLayer::new().with_server(&grpc_uri);
                    let mut client = TraceServiceClient::new(layer.layer(channel));
                    client
                        .export(ExportTraceServiceRequest::default())
                        .await
                        .unwrap();
                    "ok"
                }
            }),
        )
        .layer(TraceLayer::new());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (trace, body) = support::traced_get(format!("http://{first}/checkout")).await;
    assert_eq!(body, "ok");
    let spans = support::spans_of(trace);
    let names: Vec<(&str, SpanKind)> = spans
        .iter()
        .map(|s| (s.name.as_ref(), s.span_kind.clone()))
        .collect();
    assert_eq!(spans.len(), 7, "{names:?}");

    // Walk the chain from the root: each span is the only child of the last.
    let order = [
        ("caller", SpanKind::Internal),
        ("GET", SpanKind::Client),
        ("GET /checkout", SpanKind::Server),
        (
            "opentelemetry.proto.collector.trace.v1.TraceService/Export",
            SpanKind::Client,
        ),
        (
            "opentelemetry.proto.collector.trace.v1.TraceService/Export",
            SpanKind::Server,
        ),
        ("GET", SpanKind::Client),
        ("GET /stock", SpanKind::Server),
    ];
    let mut parent = opentelemetry::trace::SpanId::INVALID;
    for (name, kind) in order {
        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        assert_eq!(children.len(), 1, "one child of {parent:?}: {names:?}");
        assert_eq!(
            (children[0].name.as_ref(), children[0].span_kind.clone()),
            (name, kind)
        );
        parent = children[0].span_context.span_id();
    }
}
