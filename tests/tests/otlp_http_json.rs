//! OTLP/HTTP with JSON bodies to a real receiver, configured in code.

mod otlp;

use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::OtlpReceiver;

#[test]
fn spans_arrive_over_http_json_configured_in_code() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    let target = OtlpTarget::new(&receiver.http_endpoint(), OtlpProtocol::HttpJson).unwrap();
    let pipeline = spanflow::pipeline!()
        .with_otlp(target)
        .install()
        .expect("OTLP from code");
    let _ = otlp::run_and_check(&receiver, pipeline, "http/json", "spanflow-tests");
}
