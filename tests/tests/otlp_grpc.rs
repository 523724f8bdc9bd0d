//! OTLP/gRPC to a real receiver, configured by the environment, with
//! metadata and gzip.

mod otlp;

use spanflow_otlp_receiver::{OtlpReceiver, string_attribute};

#[test]
fn spans_arrive_over_grpc_with_ids_parents_kinds_attributes_status_and_resource() {
    otlp::set_env("OTEL_SERVICE_NAME", "checkout-grpc");
    otlp::set_env(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment.name=ci,team=payments",
    );
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        &receiver.grpc_endpoint(),
    );
    otlp::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    otlp::set_env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret%20one");
    otlp::set_env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip");
    let pipeline = spanflow::pipeline!()
        .install()
        .expect("OTLP from the environment");
    assert!(
        pipeline.store().is_none(),
        "OTLP replaces the embedded default"
    );
    let resource = otlp::run_and_check(&receiver, pipeline, "grpc", "checkout-grpc");
    otlp::assert_every_request_had_header(&receiver, "x-api-key", "secret one");
    otlp::assert_every_request_had_header(&receiver, "grpc-encoding", "gzip");
    assert_eq!(
        string_attribute(&resource, "deployment.environment.name").as_deref(),
        Some("ci")
    );
    assert_eq!(
        string_attribute(&resource, "team").as_deref(),
        Some("payments")
    );
    assert_eq!(
        string_attribute(&resource, "service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION")),
        "pipeline!() adds the crate's version"
    );
}
