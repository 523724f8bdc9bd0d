//! `OTEL_TRACES_EXPORTER=otlp,console`: spans go to the OTLP endpoint the
//! environment names (a real receiver) and to the embedded default's
//! terminal tree and store, both.

mod otlp;

use spanflow_otlp_receiver::OtlpReceiver;

#[test]
fn otlp_and_console_both_get_the_spans() {
    otlp::set_env("OTEL_SERVICE_NAME", "checkout-both");
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    otlp::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());
    otlp::set_env("OTEL_TRACES_EXPORTER", "otlp,console");
    let pipeline = spanflow::pipeline!()
        .install()
        .expect("otlp and console from the environment");
    let store = pipeline
        .store()
        .expect("console is the embedded default, with its store")
        .clone();
    otlp::run_and_check(&receiver, pipeline, "http/protobuf", "checkout-both");
    assert_eq!(store.span_count(), 3, "the same spans as the receiver got");
}
