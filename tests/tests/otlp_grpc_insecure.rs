//! A gRPC endpoint given the way gRPC clients take it, `host:port` without
//! a scheme, with `OTEL_EXPORTER_OTLP_TRACES_INSECURE=true`: spans go over
//! plain HTTP/2 to a real receiver (with the default, `https://`, the
//! plaintext receiver would get nothing).

mod otlp;

use spanflow_otlp_receiver::OtlpReceiver;

#[test]
fn a_grpc_endpoint_without_a_scheme_is_plaintext_when_insecure_is_true() {
    otlp::set_env("OTEL_SERVICE_NAME", "checkout-grpc-insecure");
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    let endpoint = receiver.grpc_endpoint();
    let host_port = endpoint
        .strip_prefix("http://")
        .expect("a plaintext receiver");
    otlp::set_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", host_port);
    otlp::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    otlp::set_env("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true");
    // The traces form wins over the general one.
    otlp::set_env("OTEL_EXPORTER_OTLP_INSECURE", "false");
    let pipeline = spanflow::pipeline!()
        .install()
        .expect("a scheme-less gRPC endpoint with insecure=true");
    otlp::run_and_check(&receiver, pipeline, "grpc", "checkout-grpc-insecure");
}
