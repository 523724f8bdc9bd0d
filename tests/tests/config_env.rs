//! Configuration from the environment: bad values are errors naming the
//! variable and the value, and good ones take effect. One test, so that it
//! alone changes this process's environment.

mod env;

use env::{config_error, refused, set, traced, unset};
use spanflow::InstallError;

#[test]
fn bad_values_name_the_variable_and_good_ones_apply() {
    set("OTEL_TRACES_SAMPLER", "sometimes");
    let error = refused(
        spanflow::pipeline!().install(),
        "OTEL_TRACES_SAMPLER",
        "sometimes",
    );
    assert!(
        error.to_string().contains("parentbased_traceidratio"),
        "{error}"
    );

    set("OTEL_TRACES_SAMPLER", "traceidratio");
    set("OTEL_TRACES_SAMPLER_ARG", "1.5");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_TRACES_SAMPLER_ARG",
        "1.5",
    );

    set("OTEL_TRACES_SAMPLER_ARG", "half");
    let error = config_error(spanflow::pipeline!().install());
    assert_eq!(error.variable, "OTEL_TRACES_SAMPLER_ARG");

    unset("OTEL_TRACES_SAMPLER_ARG");
    set("OTEL_TRACES_SAMPLER", "always_off");
    set("SPANFLOW_EXPORT", "jaeger");
    refused(spanflow::pipeline!().install(), "SPANFLOW_EXPORT", "jaeger");

    set(
        "SPANFLOW_EXPORT",
        "json:/nonexistent-directory/traces.jsonl",
    );
    let error = config_error(spanflow::pipeline!().install());
    assert_eq!(error.variable, "SPANFLOW_EXPORT");
    assert!(error.reason.contains("cannot create"), "{error}");

    set("SPANFLOW_EXPORT", "memory");
    set("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317");
    let error = refused(
        spanflow::pipeline!().install(),
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "localhost:4317",
    );
    assert!(error.reason.contains("http://"), "{error}");

    set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
    set("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "thrift",
    );

    set("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    set("OTEL_BSP_MAX_QUEUE_SIZE", "lots");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "lots",
    );
    unset("OTEL_BSP_MAX_QUEUE_SIZE");
    unset("OTEL_EXPORTER_OTLP_PROTOCOL");
    unset("OTEL_EXPORTER_OTLP_ENDPOINT");

    // The same settings batch an exporter given in code.
    set("OTEL_BSP_SCHEDULE_DELAY", "soon");
    refused(
        spanflow::pipeline!()
            .with_batch_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
            .install(),
        "OTEL_BSP_SCHEDULE_DELAY",
        "soon",
    );
    unset("OTEL_BSP_SCHEDULE_DELAY");

    // Failed installs installed nothing; now a valid configuration applies.
    let pipeline = spanflow::pipeline!().install().expect("valid now");
    assert!(!traced(), "always_off from the environment");

    // Code overrides the environment.
    pipeline.set_sampler(spanflow::Sampler::AlwaysOn);
    assert!(traced());
    pipeline.flush().unwrap();
    assert_eq!(pipeline.store().unwrap().span_count(), 1);
    assert!(matches!(
        spanflow::pipeline!().install(),
        Err(InstallError::AlreadyInstalled)
    ));
}
