//! `OTEL_SDK_DISABLED`: `true` installs nothing (spans are not recorded,
//! not made current, not exported), a value other than true or false is an
//! error naming the variable, and `false` installs as usual. One test, so
//! that it alone changes this process's environment.

mod env;

use env::{refused, set, traced};
use opentelemetry::trace::{Span as _, Tracer as _};

#[test]
fn sdk_disabled_installs_nothing_and_false_installs_as_usual() {
    set("SPANFLOW_EXPORT", "memory");

    set("OTEL_SDK_DISABLED", "yes");
    refused(spanflow::pipeline!().install(), "OTEL_SDK_DISABLED", "yes");

    set("OTEL_SDK_DISABLED", "TRUE");
    let disabled = spanflow::pipeline!()
        .install()
        .expect("a disabled pipeline installs");
    assert!(!traced(), "no span is current with tracing disabled");
    let mut api_span = opentelemetry::global::tracer("check").start("api span");
    assert!(!api_span.is_recording(), "no global provider was installed");
    api_span.end();
    assert!(disabled.store().is_none());
    assert!(disabled.tracer_provider().is_none());
    disabled.flush().expect("nothing to flush");
    assert_eq!(
        (disabled.collected_spans(), disabled.dropped_spans()),
        (0, 0)
    );
    drop(disabled);

    // Nothing was installed, so a pipeline can be installed now.
    set("OTEL_SDK_DISABLED", "false");
    let pipeline = spanflow::pipeline!()
        .install()
        .expect("installs with OTEL_SDK_DISABLED=false");
    assert!(traced(), "spans are recorded again");
    pipeline.flush().expect("flushed");
    assert_eq!(pipeline.collected_spans(), 1);
    let store = pipeline.store().expect("the embedded store");
    assert_eq!(store.span_count(), 1);
}
