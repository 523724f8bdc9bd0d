//! Head-sampling rules see a gRPC call's span name,
//! `package.Service/Method`, when the call starts a trace (real tonic on
//! 127.0.0.1).

use std::sync::Mutex;

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::{Sampler, SamplingRules};
use spanflow_http::GrpcServerLayer;

/// Remembers whether each call ran sampled.
struct Service {
    sampled: &'static Mutex<Vec<bool>>,
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let sampled = Context::current().span().span_context().is_sampled();
        self.sampled.lock().unwrap().push(sampled);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

const METHOD: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_on_the_method_decides_the_calls_that_start_traces() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampling_rules(SamplingRules::new().name(METHOD, Sampler::AlwaysOff))
        .install()
        .expect("the only pipeline of this binary");
    static SAMPLED: Mutex<Vec<bool>> = Mutex::new(Vec::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(TraceServiceServer::new(Service { sampled: &SAMPLED }))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    // An untraced client: the server's span starts each trace.
    let mut client = TraceServiceClient::connect(format!("http://{address}"))
        .await
        .expect("the server listens");
    for _ in 0..3 {
        client
            .export(ExportTraceServiceRequest::default())
            .await
            .expect("answered");
    }
    let mut other = spanflow::span!("other");
    assert!(
        other.is_recording(),
        "the sampler keeps what no rule matches"
    );
    other.end();

    pipeline.flush().unwrap();
    assert_eq!(*SAMPLED.lock().unwrap(), [false, false, false]);
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.into_owned())
        .collect();
    assert_eq!(names, ["other"]);
}
