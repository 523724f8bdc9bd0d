//! A root span reaches the exporters after the spans of its trace that
//! ended on other threads since the last drain, so that an exporter taking
//! the root's end as its trace's end (the terminal tree) has them all: the
//! collector drains the threads' rings one after the other, and the root's
//! thread may come first.

mod printed;

use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use printed::Printed;
use spanflow::trace;

#[trace]
fn first_on_this_thread() {}

#[trace]
fn child_on_another_thread() {}

/// A root whose child ends on a thread whose ring the collector drains
/// after this thread's.
#[trace]
fn root() {
    let context = spanflow::current_context();
    std::thread::spawn(move || spanflow::with_context(&context, child_on_another_thread))
        .join()
        .expect("the child's thread");
}

#[test]
fn a_root_reaches_the_exporters_after_its_children_from_other_threads() {
    let exporter = InMemorySpanExporter::default();
    let printed = Printed::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_simple_exporter(printed.exporter())
        // Nothing is drained before the flush: child and root in one drain.
        .with_collect_interval(Duration::from_secs(3600))
        .install()
        .expect("the only pipeline of this binary");
    // This thread's ring is the collector's first.
    first_on_this_thread();
    pipeline.flush().expect("flushed");

    root();
    pipeline.flush().expect("flushed");

    let names: Vec<String> = exporter
        .get_finished_spans()
        .expect("finished spans")
        .iter()
        .map(|span| span.name.to_string())
        .collect();
    assert_eq!(
        names,
        ["first_on_this_thread", "child_on_another_thread", "root"]
    );
    let trees = printed.trees();
    assert_eq!(trees.len(), 2, "one tree a trace:\n{}", printed.text());
    assert!(
        trees[1].contains("\"root\"") && trees[1].ends_with("spans=2"),
        "{}",
        printed.text()
    );
}
