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

/// What the child wrote on standard output and standard error, installing
/// from the file at `path` under `OTEL_LOG_LEVEL=debug` (which the file
/// replaces).
fn run_child(path: &Path) -> (String, String) {
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OTEL_CONFIG_FILE", path)
        .env("OTEL_LOG_LEVEL", "debug")
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// What the child said on standard error with a file whose `log_level`
/// is `level`.
fn child_stderr(level: &str) -> String {
    let path = config_file(
        &format!("notes-{level}"),
        &format!("file_format: \"1.0\"\nlog_level: {level}\nmeter_provider:\n  readers: []\n"),
    );
    let (_, stderr) = run_child(&path);
    let _ = std::fs::remove_file(path);
    stderr
}

/// The child's spans written by the file's `otlp_file/development`
/// exporter under `processor`, with `output_stream` set to `stream` if
/// given: (trace id, span id, parent span id, name) of each span in the
/// OTLP/JSON lines of the file at `read_from`, or of standard output.
fn otlp_file_spans(
    processor: &str,
    stream: Option<&str>,
    read_from: Option<&Path>,
) -> Vec<[String; 4]> {
    let options = stream.map_or(String::new(), |stream| {
        format!("\n            output_stream: \"{stream}\"")
    });
    let path = config_file(
        &format!("otlp-file-{processor}"),
        &format!(
            "file_format: \"1.0\"
propagator:
  composite: [tracecontext:]
tracer_provider:
  processors:
    - {processor}:
        exporter:
          otlp_file/development:{options}
"
        ),
    );
    let (stdout, _) = run_child(&path);
    let _ = std::fs::remove_file(path);
    let text = match read_from {
        Some(file) => std::fs::read_to_string(file).expect("the exporter wrote the file"),
        None => stdout,
    };
    let mut spans = Vec::new();
    // On standard output the test harness's "test … " can precede a line.
    for line in text
        .lines()
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
    {
        let request: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        for resource in request["resourceSpans"].as_array().expect("resourceSpans") {
            for scope in resource["scopeSpans"].as_array().expect("scopeSpans") {
                for span in scope["spans"].as_array().expect("spans") {
                    let field = |key: &str| span[key].as_str().unwrap_or_default().to_owned();
                    spans.push([
                        field("traceId"),
                        field("spanId"),
                        field("parentSpanId"),
                        field("name"),
                    ]);
                }
            }
        }
    }
    spans
}

/// Two spans, `reserve` the child of `checkout`, in one trace.
fn assert_checkout_trace(spans: &[[String; 4]]) {
    let named = |name: &str| {
        spans
            .iter()
            .find(|span| span[3] == name)
            .unwrap_or_else(|| panic!("{name} in {spans:?}"))
    };
    let (checkout, reserve) = (named("checkout"), named("reserve"));
    assert_eq!(checkout[0], reserve[0], "one trace");
    assert_eq!(checkout[0].len(), 32, "a hex trace id");
    assert_eq!(reserve[2], checkout[1], "reserve's parent is checkout");
}

#[test]
fn a_configuration_file_replaces_the_otel_variables() {
    let said = child_stderr("info");
    assert!(said.contains(UNREAD_NOTE), "{said}");
    let said = child_stderr("warn");
    assert!(!said.contains(UNREAD_NOTE), "{said}");

    // OTLP/JSON lines appended to a file (two runs: two traces) or written
    // to standard output.
    let spans_file = std::env::temp_dir().join(format!(
        "spanflow-config-{}-otlp file.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&spans_file);
    let uri = format!(
        "file://{}",
        spans_file
            .to_str()
            .expect("a UTF-8 path")
            .replace(' ', "%20")
    );
    otlp_file_spans("batch", Some(&uri), None);
    let spans = otlp_file_spans("batch", Some(&uri), Some(&spans_file));
    let _ = std::fs::remove_file(&spans_file);
    assert_eq!(spans.len(), 4, "two runs appended: {spans:?}");
    assert_checkout_trace(&spans[..2]);
    assert_checkout_trace(&spans[2..]);
    assert_ne!(spans[0][0], spans[2][0], "a trace per run");
    let spans = otlp_file_spans("simple", None, None);
    assert_eq!(spans.len(), 2, "on standard output: {spans:?}");
    assert_checkout_trace(&spans);

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
  schema_url: https://opentelemetry.io/schemas/1.37.0
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
        for resource_spans in &request.request.resource_spans {
            assert_eq!(
                resource_spans.schema_url,
                "https://opentelemetry.io/schemas/1.37.0"
            );
        }
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
