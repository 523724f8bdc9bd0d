//! `OTEL_CONFIG_FILE`: a declarative configuration file replaces the other
//! `OTEL_*` variables (each set here to a value that would change the
//! outcome if it were read), except where the file refers to them; spans
//! reach a real OTLP receiver as the file says; what spanflow cannot do is
//! an installation error naming the file and the property; the file's
//! `log_level` decides what is said about its unread parts. One test (and
//! its child process), so that it alone changes this process's environment.

mod env;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use env::{config_error, set};
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use spanflow::otlp::OtlpTarget;
use spanflow::{BatchOptions, trace};
use spanflow_otlp_receiver::{OtlpReceiver, int_attribute, string_attribute};

const CHILD: &str = "child_installs_from_the_named_file";
const UNREAD_NOTE: &str = "meter_provider is not read";

/// Writes a configuration file into the temporary directory.
fn config_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "spanflow-config-{}-{name}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, text).expect("the temporary directory is writable");
    path
}

fn use_file(path: &Path) {
    set("OTEL_CONFIG_FILE", path.to_str().expect("a UTF-8 path"));
}

/// The request's propagation headers, injected inside its span with a
/// baggage entry current.
#[trace(kind = server)]
fn checkout() -> HashMap<String, String> {
    reserve();
    let with_baggage =
        opentelemetry::Context::current().with_baggage([KeyValue::new("tenant", "blue")]);
    assert!(with_baggage.span().span_context().is_sampled());
    let mut headers = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&with_baggage, &mut headers);
    });
    headers
}

#[trace]
fn reserve() {}

#[test]
#[ignore = "run as a child process by a_configuration_file_replaces_the_otel_variables"]
fn child_installs_from_the_named_file() {
    let pipeline = spanflow::pipeline!().install().expect("installs");
    checkout();
    pipeline.shutdown().expect("shut down");
}

/// What the child said on standard error with a file whose `log_level`
/// is `level`, under `OTEL_LOG_LEVEL=debug` (which the file replaces).
fn child_stderr(level: &str) -> String {
    let path = config_file(
        &format!("notes-{level}"),
        &format!("file_format: \"1.0\"\nlog_level: {level}\nmeter_provider:\n  readers: []\n"),
    );
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OTEL_CONFIG_FILE", &path)
        .env("OTEL_LOG_LEVEL", "debug")
        .output()
        .expect("the child runs");
    let _ = std::fs::remove_file(path);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stderr}");
    stderr
}

#[test]
fn a_configuration_file_replaces_the_otel_variables() {
    let said = child_stderr("info");
    assert!(said.contains(UNREAD_NOTE), "{said}");
    let said = child_stderr("warn");
    assert!(!said.contains(UNREAD_NOTE), "{said}");

    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9");
    set("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    set("OTEL_TRACES_SAMPLER", "always_off");
    set("OTEL_RESOURCE_ATTRIBUTES", "read.from=environment");
    set("OTEL_PROPAGATORS", "xray");
    set("SPANFLOW_EXPORT", "memory");
    set("OTEL_BSP_SCHEDULE_DELAY", "999");
    // Replaced too, but the file refers to it.
    set("OTEL_SERVICE_NAME", "checkout-service");

    let missing = PathBuf::from("/nonexistent/spanflow.yaml");
    use_file(&missing);
    let error = config_error(spanflow::pipeline!().install());
    assert_eq!(
        (error.variable, error.value.as_str()),
        ("OTEL_CONFIG_FILE", "/nonexistent/spanflow.yaml")
    );
    assert!(
        error
            .reason
            .starts_with("the configuration file cannot be read"),
        "{error}"
    );

    let exporter = |options: &str| {
        format!(
            "  - batch:\n      exporter:\n        otlp_http:\n          endpoint: {}/v1/traces\n{options}",
            receiver.http_endpoint()
        )
    };
    let two_endpoints = config_file(
        "two-endpoints",
        &format!(
            "file_format: \"1.0\"\ntracer_provider:\n  processors:\n{}{}",
            exporter(""),
            exporter("")
        ),
    );
    use_file(&two_endpoints);
    let error = config_error(spanflow::pipeline!().install());
    assert_eq!(error.variable, "OTEL_CONFIG_FILE");
    assert!(
        error
            .reason
            .starts_with("tracer_provider.processors[1].batch.exporter: a second OTLP exporter"),
        "{error}"
    );

    let bad_compression = config_file(
        "bad-compression",
        &format!(
            "file_format: \"1.0\"\ntracer_provider:\n  processors:\n{}",
            exporter("          compression: brotli\n")
        ),
    );
    use_file(&bad_compression);
    let error = config_error(spanflow::pipeline!().install());
    assert_eq!(
        (error.variable, error.value.as_str()),
        ("OTEL_CONFIG_FILE", bad_compression.to_str().unwrap())
    );
    assert_eq!(
        error.reason,
        "tracer_provider.processors[0].batch.exporter.otlp_http.compression: \"brotli\": \
         unknown compression; expected gzip or none"
    );
    // The same from the public reading of the OTLP settings.
    let error = OtlpTarget::from_env().expect_err("the file's compression is refused");
    assert_eq!(error.variable, "OTEL_CONFIG_FILE");
    assert!(
        error
            .reason
            .starts_with("tracer_provider.processors[0].batch.exporter.otlp_http.compression"),
        "{error}"
    );

    let valid = config_file(
        "valid",
        &format!(
            "file_format: \"1.0\"
resource:
  attributes:
    - name: service.name
      value: ${{OTEL_SERVICE_NAME:-unnamed}}
    - name: deployment.ring
      value: 3
      type: int
propagator:
  composite: [tracecontext:]
tracer_provider:
  processors:
{}
  sampler:
    parent_based:
      root:
        always_on:
",
            exporter(
                "          encoding: json\n          headers:\n            - name: x-tenant\n              value: blue\n      schedule_delay: 100\n"
            )
        ),
    );
    use_file(&valid);
    assert_eq!(
        BatchOptions::from_env().expect("the file's batch settings"),
        BatchOptions::default().with_schedule_delay(Duration::from_millis(100)),
        "the file's schedule_delay, not OTEL_BSP_SCHEDULE_DELAY"
    );
    let pipeline = spanflow::pipeline!().install().expect("the file is valid");
    let headers = checkout();
    pipeline.shutdown().expect("exported within the deadline");

    assert!(headers.contains_key("traceparent"), "{headers:?}");
    assert!(
        !headers.contains_key("baggage"),
        "the file names tracecontext alone: {headers:?}"
    );
    let received = receiver.received();
    assert!(!received.is_empty(), "nothing reached the file's endpoint");
    for request in &received {
        assert_eq!(request.protocol, "http/json");
        assert!(
            request
                .headers
                .contains(&("x-tenant".to_owned(), "blue".to_owned())),
            "{:?}",
            request.headers
        );
    }
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "sampled as the file says: {spans:#?}");
    let (resource, root) = spans
        .iter()
        .find(|(_, span)| span.name == "checkout")
        .expect("checkout");
    assert!(spans.iter().all(|(_, span)| span.trace_id == root.trace_id));
    assert_eq!(
        string_attribute(resource, "service.name").as_deref(),
        Some("checkout-service")
    );
    assert_eq!(int_attribute(resource, "deployment.ring"), Some(3));
    assert_eq!(string_attribute(resource, "read.from"), None);

    for path in [two_endpoints, bad_compression, valid] {
        let _ = std::fs::remove_file(path);
    }
}
