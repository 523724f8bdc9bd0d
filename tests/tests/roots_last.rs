//! A root span reaches the exporters after the spans of its trace that
//! ended on other threads since the last drain, so that an exporter taking
//! the root's end as its trace's end (the terminal tree) has them all: the
//! collector drains the threads' rings one after the other, and the root's
//! thread may come first.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::export::{TerminalExporter, TreeStyle};
use spanflow::trace;

/// What the terminal tree printed.
#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Write for Printed {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut printed = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        printed.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
        .with_simple_exporter(TerminalExporter::to_writer(
            Box::new(printed.clone()),
            TreeStyle::PLAIN,
        ))
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
    let printed = String::from_utf8(printed.0.lock().unwrap().clone()).expect("text");
    let trees: Vec<&str> = printed
        .lines()
        .filter(|line| line.starts_with("Trace:"))
        .collect();
    assert_eq!(trees.len(), 2, "one tree a trace:\n{printed}");
    assert!(
        trees[1].contains("\"root\"") && trees[1].ends_with("spans=2"),
        "{printed}"
    );
}
