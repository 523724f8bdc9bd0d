//! OTLP/HTTP with protobuf bodies (the default protocol) to a real receiver,
//! from the base endpoint variable.

mod otlp;

use spanflow_otlp_receiver::OtlpReceiver;

#[test]
fn spans_arrive_over_http_protobuf_at_v1_traces() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    otlp::set_env("OTEL_BSP_SCHEDULE_DELAY", "50");
    let pipeline = spanflow::pipeline!()
        .with_service_name("checkout-http")
        .install()
        .expect("OTLP from the environment");
    let _ = otlp::run_and_check(&receiver, pipeline, "http/protobuf", "checkout-http");
}
