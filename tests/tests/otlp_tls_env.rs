//! OTLP/gRPC over TLS to a real receiver that asks for a client
//! certificate, everything named by the standard environment variables:
//! the receiver's CA file and the client's certificate and key files.

mod otlp;

use std::path::PathBuf;

use spanflow_otlp_receiver::{OtlpReceiver, SelfSigned};

/// Writes `contents` to a file of this test's own in the temporary
/// directory.
fn file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("spanflow-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("temporary file");
    path
}

#[test]
fn spans_arrive_over_mutual_tls_configured_by_the_environment() {
    let server = SelfSigned::generate().expect("server certificate");
    let client = SelfSigned::generate().expect("client certificate");
    let receiver = OtlpReceiver::start_mutual_tls(server.clone(), client.certificate_pem.clone())
        .expect("receiver on 127.0.0.1");
    let files = [
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            file("ca.pem", &server.certificate_pem),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            file("client.pem", &client.certificate_pem),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            file("client-key.pem", &client.key_pem),
        ),
    ];
    for (variable, path) in &files {
        otlp::set_env(variable, path.to_str().expect("a UTF-8 path"));
    }
    otlp::set_env("OTEL_SERVICE_NAME", "checkout-tls");
    otlp::set_env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        &receiver.grpc_endpoint(),
    );
    otlp::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    let pipeline = spanflow::pipeline!()
        .install()
        .expect("OTLP over TLS from the environment");
    otlp::run_and_check(&receiver, pipeline, "grpc", "checkout-tls");
    for (_, path) in files {
        let _ = std::fs::remove_file(path);
    }
}
