//! OTLP/HTTP with protobuf bodies (the default protocol) to a real receiver,
//! from the base endpoint variable, with headers and gzip from the
//! environment.

mod otlp;

use spanflow_otlp_receiver::OtlpReceiver;

#[test]
fn spans_arrive_over_http_protobuf_at_v1_traces() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    otlp::set_env("OTEL_BSP_SCHEDULE_DELAY", "50");
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "X-Api-Key=secret%20one,tenant=blue",
    );
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "x-api-key=traces%2Conly",
    );
    otlp::set_env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    let pipeline = spanflow::pipeline!()
        .with_service_name("checkout-http")
        .install()
        .expect("OTLP from the environment");
    let _ = otlp::run_and_check(&receiver, pipeline, "http/protobuf", "checkout-http");
    // The traces variable replaces the general one, as the specification says.
    otlp::assert_every_request_had_header(&receiver, "x-api-key", "traces,only");
    otlp::assert_every_request_had_header(&receiver, "content-encoding", "gzip");
    assert!(
        receiver.received()[0]
            .headers
            .iter()
            .all(|(key, _)| key != "tenant")
    );
}
