//! `Pipeline::with_writable_active_span` costs one allocation more a
//! sampled span than the default (`allocations.rs`): the box OpenTelemetry's
//! `Context` puts a span in. This binary's only test, so that no other
//! test's spans move the records this thread reuses.

mod counting;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::trace;

#[trace]
fn empty() {}

#[test]
fn a_writable_span_costs_one_allocation_more() {
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(InMemorySpanExporter::default())
        .with_writable_active_span(true)
        .install()
        .expect("the only pipeline of this binary");
    // Warm this thread's rings and spare records, as `allocations.rs` does.
    for spans in [1024, 512] {
        (0..spans).for_each(|_| empty());
        pipeline.flush().expect("flushed");
    }
    let spans = 512;
    let made = counting::allocations_of(|| (0..spans).for_each(|_| empty()));
    pipeline.flush().expect("flushed");
    assert!(
        made <= 2 * spans && made > spans,
        "{made} allocations for {spans} spans: expected the Context's and the span's box"
    );
}
