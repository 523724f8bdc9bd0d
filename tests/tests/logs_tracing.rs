//! `tracing` events inside spans, through `SpanEventLayer`, and ids in
//! tracing-subscriber's formatted lines through `WithTraceIds`.

mod logs;

use std::io;
use std::sync::{Arc, Mutex};

use logs::{Lines, check, install};
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
    tracing::warn!(items = 3, "stock low");
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
}
