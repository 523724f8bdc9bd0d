//! `PipelineGuard::flush` returns once a simple exporter has flushed what
//! it was given: the terminal tree, written on a thread of its own to an
//! output slower than the spans, is on the output when the flush returns.

mod printed;

use std::time::Duration;

use printed::Printed;

#[spanflow::trace]
fn checkout() {
    reserve();
}

#[spanflow::trace]
fn reserve() {}

#[test]
fn a_flush_returns_once_a_slow_terminal_has_written_the_tree() {
    let printed = Printed::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(printed.slow_exporter(Duration::from_millis(200)))
        .install()
        .expect("the only pipeline of this binary");
    checkout();
    pipeline.flush().expect("flushed within the deadline");
    let trees = printed.trees();
    assert_eq!(trees.len(), 1, "{}", printed.text());
    assert!(trees[0].contains("\"checkout\""), "{}", printed.text());
    assert!(printed.text().contains("reserve"), "{}", printed.text());
}
