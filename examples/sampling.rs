//! The seed's sampling policy on the embedded default: of 5,000 checkout
//! requests, keep every failed one, every one that logged a warning, every
//! one slower than the latency bound, and 0.1% of the rest, decided on
//! whole traces after they end (tail sampling, in this process).
//!
//! The latency bound is the seed's 1 s scaled down, as the example's work
//! is: 50 ms.
//!
//! Run: `cargo run --example sampling`

use std::time::Duration;

use opentelemetry::KeyValue;
use spanflow::export::{TreeStyle, render_tree};
use spanflow::tail::{Policy, TailSampler};
use spanflow::{EmbeddedExport, trace};

const REQUESTS: u64 = 5_000;
const LATENCY_BOUND: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tracing = spanflow::pipeline!()
        .with_embedded_export(EmbeddedExport::Memory)
        .with_store_capacity(100_000)
        .with_tail_sampling(
            TailSampler::builder(Policy::any_of([
                Policy::errors(),
                Policy::warnings(),
                Policy::latency_over(LATENCY_BOUND),
                Policy::probability(0.001),
            ]))
            .with_straggler_wait(Duration::from_millis(20)),
        )
        .install()?;

    let requests = (0..REQUESTS).map(|request| tokio::spawn(checkout(request)));
    let mut failed = 0;
    for outcome in futures_join(requests).await {
        failed += u64::from(outcome.is_err());
    }
    tracing.flush()?;

    let stats = tracing.tail_stats().expect("tail sampling is on");
    let store = tracing.store().expect("the embedded default");
    let traces = store.traces();
    println!(
        "{REQUESTS} requests ({failed} failed): {} traces kept, {} dropped; {} of {} spans exported",
        stats.traces_kept,
        stats.traces_dropped,
        stats.spans_kept + stats.late_spans_kept,
        stats.spans_kept + stats.spans_dropped,
    );
    let outcome = |trace: &spanflow::export::Trace| {
        trace.root().and_then(|root| {
            root.attributes
                .iter()
                .find(|kv| kv.key.as_str() == "outcome")
                .map(|kv| kv.value.as_str().into_owned())
        })
    };
    for reason in ["failed", "warning", "slow", "ok"] {
        let kept = traces
            .iter()
            .filter(|trace| outcome(trace).as_deref() == Some(reason))
            .count();
        let of = (0..REQUESTS).filter(|r| outcome_of(*r) == reason).count();
        println!("  {reason:>7}: {kept:>4} of {of:>4} kept");
    }
    let style = TreeStyle::for_stream(&std::io::stdout());
    for reason in ["failed", "warning", "slow"] {
        let example = traces
            .iter()
            .find(|trace| outcome(trace).as_deref() == Some(reason));
        if let Some(trace) = example {
            println!("\nA kept {reason} request:\n{}", render_tree(trace, style));
        }
    }
    tracing.shutdown()?;
    Ok(())
}

/// What request number `request` does: every 97th fails, every 89th logs
/// a warning, every 83rd is slow; the rest are ordinary.
fn outcome_of(request: u64) -> &'static str {
    match request {
        r if r % 97 == 0 => "failed",
        r if r % 89 == 0 => "warning",
        r if r % 83 == 0 => "slow",
        _ => "ok",
    }
}

#[trace(err, fields(request = request, outcome = outcome_of(request)))]
async fn checkout(request: u64) -> Result<(), String> {
    let outcome = outcome_of(request);
    validate().await;
    reserve(outcome == "warning").await;
    charge(outcome == "slow").await;
    if outcome == "failed" {
        return Err("card declined".to_owned());
    }
    Ok(())
}

#[trace]
async fn validate() {
    tokio::task::yield_now().await;
}

#[trace]
async fn reserve(low_stock: bool) {
    if low_stock {
        // What a log bridge records for `warn!` inside a span.
        let mut span = spanflow::span!("inventory.low_stock");
        span.add_event(
            "log",
            vec![
                KeyValue::new("level", "WARN"),
                KeyValue::new("message", "stock below reorder point"),
            ],
        );
    }
    tokio::task::yield_now().await;
}

#[trace]
async fn charge(slow: bool) {
    let pause = if slow {
        LATENCY_BOUND * 2
    } else {
        Duration::from_millis(1)
    };
    tokio::time::sleep(pause).await;
}

/// Awaits every task (their panics would be bugs of this example).
async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a request task"));
    }
    outcomes
}
