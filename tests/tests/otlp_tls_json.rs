//! OTLP/HTTP with JSON bodies over TLS to a real receiver, its CA given in
//! code.

mod otlp;

use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::{OtlpReceiver, SelfSigned};

#[test]
fn spans_arrive_over_https_json_with_the_ca_given_in_code() {
    let identity = SelfSigned::generate().expect("certificate");
    let receiver = OtlpReceiver::start_tls(identity.clone()).expect("receiver on 127.0.0.1");
    assert!(receiver.http_endpoint().starts_with("https://"));
    let target = OtlpTarget::new(&receiver.http_endpoint(), OtlpProtocol::HttpJson)
        .unwrap()
        .with_ca_certificate(identity.certificate_pem);
    let pipeline = spanflow::pipeline!()
        .with_otlp(target)
        .install()
        .expect("OTLP over TLS from code");
    let _ = otlp::run_and_check(&receiver, pipeline, "http/json", "spanflow-tests");
}
