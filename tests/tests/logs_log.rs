//! `log` records inside spans, through `LogBridge`.

mod logs;

use std::sync::{Arc, Mutex};

use logs::{Lines, check, install};
use opentelemetry::KeyValue;
use spanflow::trace;

struct Capture(Lines);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            record.level(),
            spanflow::logs::trace_ids(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

#[trace]
async fn handler() {
    log::info!("received");
    tokio::task::yield_now().await;
    log::info!("after the await");
    spanflow::spawn(reserve()).await.unwrap();
    let _ = price();
}

#[trace]
async fn reserve() {
    tokio::task::yield_now().await;
    log::warn!("stock low");
    log::debug!("debug detail");
}

#[trace]
fn price() -> Option<u64> {
    // With an argument, so the message is formatted (the others are not),
    // a target of its own, and key-values.
    log::error!(target: "pricing", currency = "EUR", cents = 1250, retried = false; "no {}", "price");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_land_on_their_spans_and_lines_carry_their_ids() {
    let (exporter, pipeline) = install();
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    spanflow::logs::LogBridge::new(Capture(Arc::clone(&lines)))
        .install()
        .expect("the only logger of this binary");
    log::info!("outside");
    handler().await;
    check(&exporter, &pipeline, &lines);
    let spans = exporter.get_finished_spans().unwrap();
    let target = |span, message| logs::event_attribute(logs::span(&spans, span), message, "target");
    assert_eq!(target("handler", "received").as_deref(), Some("logs_log"));
    assert_eq!(target("price", "no price").as_deref(), Some("pricing"));
    logs::assert_fields(
        logs::span(&spans, "price"),
        "no price",
        &[
            KeyValue::new("currency", "EUR"),
            KeyValue::new("cents", 1250),
            KeyValue::new("retried", false),
        ],
    );
}
