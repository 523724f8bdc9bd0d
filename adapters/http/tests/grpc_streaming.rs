//! A server-streaming gRPC call over real tonic on 127.0.0.1: the call's
//! SERVER span is current while the stream is made, and ends after it,
//! with the status from the trailers.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures::{Stream, StreamExt};
use http::uri::PathAndQuery;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId};
use spanflow::trace;
use spanflow_http::{GrpcClientLayer, GrpcServerLayer};
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic_prost::ProstCodec;
use tower_layer::Layer;

const TICKS: &str = "/test.Ticker/Ticks";

/// One message of the stream, made by traced work.
#[trace(args(index))]
async fn tick(index: u32) -> Result<(), tonic::Status> {
    tokio::task::yield_now().await;
    Ok(())
}

/// `Ticks`: three empty messages.
struct Ticks;

impl ServerStreamingService<()> for Ticks {
    type Response = ();
    type ResponseStream = Pin<Box<dyn Stream<Item = Result<(), tonic::Status>> + Send>>;
    type Future = std::future::Ready<Result<tonic::Response<Self::ResponseStream>, tonic::Status>>;

    fn call(&mut self, _request: tonic::Request<()>) -> Self::Future {
        let ticks = futures::stream::iter(0..3).then(tick);
        std::future::ready(Ok(tonic::Response::new(Box::pin(ticks))))
    }
}

/// The `test.Ticker` service, routed by hand as tonic's generated code
/// would.
#[derive(Clone)]
struct Ticker;

impl NamedService for Ticker {
    const NAME: &'static str = "test.Ticker";
}

impl tower_service::Service<http::Request<Body>> for Ticker {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = Grpc::new(ProstCodec::<(), ()>::default());
            Ok(grpc.server_streaming(Ticks, request).await)
        })
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(Ticker)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    format!("http://{address}")
}

/// Reads the whole stream; returns the trace and the messages read.
#[trace]
async fn watch(endpoint: String) -> (TraceId, usize) {
    let trace = opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id();
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .expect("the server is up");
    let mut client = tonic::client::Grpc::new(GrpcClientLayer::new().layer(channel));
    client.ready().await.expect("ready");
    let mut stream = client
        .server_streaming(
            tonic::Request::new(()),
            PathAndQuery::from_static(TICKS),
            ProstCodec::<(), ()>::default(),
        )
        .await
        .expect("the call starts")
        .into_inner();
    let mut read = 0;
    while stream.message().await.expect("a message").is_some() {
        read += 1;
    }
    (trace, read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_span_covers_a_server_stream_and_parents_its_work() {
    support::installed();
    let (trace, read) = watch(serve().await).await;
    assert_eq!(read, 3);

    let spans = support::spans_of(trace);
    support::assert_streamed(&spans, "test.Ticker/Ticks", "tick", 3);
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("the server span");
    assert_eq!(
        support::attribute(server, "rpc.response.status_code"),
        Some(&Value::from("OK"))
    );
}
