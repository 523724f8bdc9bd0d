//! The scenario every OTLP export test runs against the real receiver.

#![allow(dead_code)] // each test binary uses a part

use opentelemetry::trace::TraceContextExt;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use spanflow::{PipelineGuard, trace};
use spanflow_otlp_receiver::{OtlpReceiver, int_attribute, string_attribute};
use tracing_subscriber::layer::SubscriberExt as _;

#[trace(kind = server, err, fields(order.id = 42))]
fn checkout(trace: &mut String) -> Result<(), String> {
    *trace = format!(
        "{}",
        opentelemetry::Context::current()
            .span()
            .span_context()
            .trace_id()
    );
    reserve();
    // A log line, written by spanflow's OTLP processor from the record's
    // compact form (the SDK's exporters get it as an `Event`).
    tracing::warn!(attempt = 2, "card declined");
    Err("card declined".into())
}

#[trace(kind = client)]
fn reserve() {
    // A library instrumented with the plain OpenTelemetry API, under a
    // spanflow span: it reaches the same export, in its own scope.
    use opentelemetry::trace::Tracer;
    opentelemetry::global::tracer("inventory-client").in_span("inventory lookup", |_| {});
}

/// Runs a traced request, shuts the pipeline down (which exports), and
/// checks what the receiver got over `protocol`; returns the resource's
/// attributes.
pub fn run_and_check(
    receiver: &OtlpReceiver,
    pipeline: PipelineGuard,
    protocol: &str,
    service: &str,
) -> Vec<KeyValue> {
    let mut trace = String::new();
    let log_lines = tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new());
    tracing::subscriber::with_default(log_lines, || assert!(checkout(&mut trace).is_err()));
    pipeline.shutdown().expect("exported within the deadline");

    let received = receiver.received();
    assert!(!received.is_empty(), "nothing reached the receiver");
    assert!(
        received.iter().all(|r| r.protocol == protocol),
        "{received:?}"
    );

    let spans = receiver.spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let find = |name: &str| {
        spans
            .iter()
            .find(|(_, span)| span.name == name)
            .expect(name)
            .clone()
    };
    let (resource, checkout) = find("checkout");
    let (_, reserve) = find("reserve");
    let (_, lookup) = find("inventory lookup");

    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(&checkout.trace_id), trace);
    assert_eq!(reserve.trace_id, checkout.trace_id);
    assert_eq!(reserve.parent_span_id, checkout.span_id);
    assert!(checkout.parent_span_id.is_empty(), "the root has no parent");
    assert_eq!(lookup.trace_id, checkout.trace_id);
    assert_eq!(lookup.parent_span_id, reserve.span_id);
    let scope_of = |name: &str| {
        received
            .iter()
            .flat_map(|r| &r.request.resource_spans)
            .flat_map(|resource| &resource.scope_spans)
            .find(|scope| scope.spans.iter().any(|span| span.name == name))
            .and_then(|scope| scope.scope.as_ref())
            .map(|scope| scope.name.clone())
    };
    assert_eq!(scope_of("checkout").as_deref(), Some("spanflow"));
    assert_eq!(
        scope_of("inventory lookup").as_deref(),
        Some("inventory-client")
    );
    assert_eq!(checkout.kind, SpanKind::Server as i32);
    assert_eq!(reserve.kind, SpanKind::Client as i32);
    let status = checkout.status.clone().expect("a status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "card declined");
    assert_eq!(int_attribute(&checkout.attributes, "order.id"), Some(42));
    assert_eq!(
        string_attribute(&checkout.attributes, "code.function.name").as_deref(),
        Some(concat!(env!("CARGO_CRATE_NAME"), "::otlp::checkout"))
    );
    let exception = checkout
        .events
        .iter()
        .find(|event| event.name == "exception")
        .expect("the error's event");
    assert!(
        (checkout.start_time_unix_nano..=checkout.end_time_unix_nano)
            .contains(&exception.time_unix_nano),
        "timed by the span's clock, within the span"
    );
    assert!(checkout.end_time_unix_nano > checkout.start_time_unix_nano);
    let line = checkout
        .events
        .iter()
        .find(|event| event.name == spanflow::logs::LOG_EVENT)
        .expect("the log line");
    assert_eq!(
        string_attribute(&line.attributes, "level").as_deref(),
        Some("WARN")
    );
    assert_eq!(
        string_attribute(&line.attributes, "message").as_deref(),
        Some("card declined")
    );
    assert_eq!(
        string_attribute(&line.attributes, "target").as_deref(),
        Some(concat!(env!("CARGO_CRATE_NAME"), "::otlp"))
    );
    assert_eq!(int_attribute(&line.attributes, "attempt"), Some(2));
    assert!(
        (checkout.start_time_unix_nano..=checkout.end_time_unix_nano)
            .contains(&line.time_unix_nano),
        "the line's time within its span's"
    );
    assert_eq!(
        string_attribute(&resource, "service.name").as_deref(),
        Some(service)
    );
    resource
}

/// Sets an environment variable in a binary whose only test calls this
/// before any other thread starts.
#[allow(dead_code)] // not every OTLP test configures through the environment
pub fn set_env(name: &str, value: &str) {
    // SAFETY: each OTLP test binary has one test, which sets its variables
    // before it starts the receiver or installs the pipeline.
    unsafe { std::env::set_var(name, value) };
}

/// Every request the receiver got carried `name: value`.
pub fn assert_every_request_had_header(receiver: &OtlpReceiver, name: &str, value: &str) {
    let received = receiver.received();
    assert!(!received.is_empty(), "nothing reached the receiver");
    for request in received {
        assert!(
            request
                .headers
                .iter()
                .any(|(key, given)| key == name && given == value),
            "no {name}: {value} in {:?}",
            request.headers
        );
    }
}
