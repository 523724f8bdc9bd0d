//! The embedded default's in-process store.

use spanflow::{EmbeddedExport, trace};

#[trace(kind = server)]
async fn checkout() {
    reserve().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

#[trace]
async fn reserve() {
    tokio::task::yield_now().await;
}

#[tokio::test]
async fn finished_traces_are_queryable_from_the_store() {
    let pipeline = spanflow::pipeline!()
        .with_embedded_export(EmbeddedExport::Memory)
        .with_store_capacity(5)
        .install()
        .expect("the only pipeline of this binary");
    checkout().await;
    pipeline.flush().unwrap();

    let store = pipeline.store().expect("the embedded default has a store");
    let traces = store.traces();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    let root = trace.root().unwrap();
    assert_eq!(root.name, "checkout");
    assert_eq!(trace.spans().len(), 2);
    assert!(trace.duration() >= std::time::Duration::from_millis(5));
    let path = trace.slowest_path();
    assert_eq!(path.first(), Some(&root.span_context.span_id()));

    // Beyond five spans, the oldest traces go, counted.
    for _ in 0..3 {
        checkout().await;
    }
    pipeline.flush().unwrap();
    assert!(store.span_count() <= 5);
    assert_eq!(store.evicted_traces(), 2);
    assert_eq!(store.evicted_spans(), 4);
}
