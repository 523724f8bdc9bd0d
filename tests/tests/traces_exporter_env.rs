//! `OTEL_TRACES_EXPORTER`: `none` wins over an OTLP endpoint in the
//! environment (nothing reaches a real receiver; spans stay in the
//! in-process store), an exporter spanflow lacks is an error naming the
//! variable, and `console` with `SPANFLOW_EXPORT` is an error asking for one
//! of the two. One test, so that it alone changes this process's environment.

mod env;
mod otlp;

use env::refused;
use spanflow::trace;
use spanflow_otlp_receiver::OtlpReceiver;

#[trace]
fn work() {}

#[test]
fn none_exports_nothing_even_with_an_otlp_endpoint_set() {
    let receiver = OtlpReceiver::start().expect("receiver on 127.0.0.1");
    env::set("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint());

    env::set("OTEL_TRACES_EXPORTER", "zipkin");
    refused(
        spanflow::pipeline!().install(),
        "OTEL_TRACES_EXPORTER",
        "zipkin",
    );

    env::set("OTEL_TRACES_EXPORTER", "console");
    env::set("SPANFLOW_EXPORT", "memory");
    refused(spanflow::pipeline!().install(), "SPANFLOW_EXPORT", "memory");
    env::unset("SPANFLOW_EXPORT");

    env::set("OTEL_TRACES_EXPORTER", "none");
    let pipeline = spanflow::pipeline!().install().expect("valid now");
    work();
    pipeline.flush().expect("flushed");
    let store = pipeline.store().expect("the in-process store").clone();
    pipeline.shutdown().expect("shut down");
    assert_eq!(store.span_count(), 1, "the span was recorded");
    assert!(
        receiver.received().is_empty(),
        "nothing was sent to the endpoint: {:?}",
        receiver.received()
    );
}
