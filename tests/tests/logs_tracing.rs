//! `tracing` events inside spans, through `SpanEventLayer`, and ids in
//! tracing-subscriber's formatted lines through `WithTraceIds`.

mod logs;

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use logs::{Lines, check, install};
use opentelemetry::KeyValue;
use spanflow::trace;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone)]
struct Capture(Lines);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(bytes).into_owned());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[trace]
async fn handler() {
    tracing::info!("received");
    tokio::task::yield_now().await;
    tracing::info!("after the await");
    spanflow::spawn(reserve()).await.unwrap();
    let _ = price();
}

#[trace]
async fn reserve() {
    tokio::task::yield_now().await;
    let sku = "A-1";
    tracing::warn!(items = 3, sku, warehouse = ?Some("north"), restock = true, "stock low");
    tracing::debug!("debug detail");
}

#[trace]
fn price() -> Option<u64> {
    tracing::error!("no price");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_events_land_on_their_spans_and_lines_carry_their_ids() {
    let (exporter, pipeline) = install();
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(Arc::clone(&lines));
    let subscriber = tracing_subscriber::registry()
        .with(spanflow::logs::SpanEventLayer::new())
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .event_format(spanflow::logs::WithTraceIds::new(
                    tracing_subscriber::fmt::format(),
                )),
        )
        .with(tracing_subscriber::filter::LevelFilter::DEBUG);
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    tracing::info!("outside");
    handler().await;
    check(&exporter, &pipeline, &lines);
    let spans = exporter.get_finished_spans().unwrap();
    let handler = logs::span(&spans, "handler");
    assert_eq!(
        logs::event_attribute(handler, "received", "target").as_deref(),
        Some("logs_tracing")
    );
    logs::assert_fields(
        logs::span(&spans, "reserve"),
        "stock low",
        &[
            KeyValue::new("items", 3),
            KeyValue::new("sku", "A-1"),
            KeyValue::new("warehouse", "Some(\"north\")"),
            KeyValue::new("restock", true),
        ],
    );
}

/// Counts how often a line holding it is formatted.
struct Formatted<'a>(&'a AtomicUsize);

impl fmt::Display for Formatted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fetch_add(1, Ordering::Relaxed);
        f.write_str("formatted")
    }
}

#[test]
fn a_line_outside_any_recorded_span_is_not_formatted() {
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let events_only = tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new());
    let formatted = AtomicUsize::new(0);
    tracing::subscriber::with_default(events_only, || {
        tracing::info!("{}", Formatted(&formatted));
        assert_eq!(
            formatted.load(Ordering::Relaxed),
            0,
            "no span: not formatted"
        );
        // An OpenTelemetry API span takes the line as its active span does.
        provider.tracer("api").in_span("api span", |_| {
            tracing::info!("{}", Formatted(&formatted));
        });
    });
    assert_eq!(
        formatted.load(Ordering::Relaxed),
        1,
        "formatted once, in the span"
    );
    let spans = exporter.get_finished_spans().unwrap();
    let [api] = spans.as_slice() else {
        panic!("one span: {spans:?}");
    };
    assert_eq!(
        logs::log_events(api),
        [("INFO".to_owned(), "formatted".to_owned())]
    );
}
