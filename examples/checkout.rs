//! The checkout request of the seed, one trace end to end.
//!
//! `POST /checkout` validates the cart, reserves stock in a spawned task,
//! charges the card with a retry, and publishes the order on a blocking
//! thread: every hop keeps the trace. The finished trace is printed as a
//! tree with offsets, durations, and spanflow's queued / busy / idle clocks.
//!
//! Run: `cargo run --example checkout`

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::trace;

#[derive(Debug)]
struct Cart {
    id: u64,
    items: Vec<(&'static str, u32)>,
}

#[derive(Debug)]
enum CheckoutError {
    Declined,
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

#[trace(name = "POST /checkout", kind = server, err, fields(cart.id = cart.id, cart.items = cart.items.len()))]
async fn checkout(cart: Cart) -> Result<u64, CheckoutError> {
    let total = validate(&cart);
    let reservation = spanflow::spawn(reserve_inventory(cart.items.clone()));
    charge_payment(total).await?;
    reservation.await.expect("reservation task");
    spanflow::spawn_blocking(move || publish_order(cart.id))
        .await
        .expect("publish task");
    Ok(total)
}

#[trace(ret)]
fn validate(cart: &Cart) -> u64 {
    cart.items.iter().map(|(_, cents)| u64::from(*cents)).sum()
}

#[trace(name = "inventory_service.reserve_items", kind = client)]
async fn reserve_inventory(items: Vec<(&'static str, u32)>) {
    for (sku, _) in items {
        reserve_one(sku).await;
    }
}

#[trace(args(sku))]
async fn reserve_one(sku: &str) {
    let _ = sku;
    tokio::time::sleep(Duration::from_millis(15)).await;
}

#[trace(name = "payment_service.charge", kind = client, err, args(total))]
async fn charge_payment(total: u64) -> Result<(), CheckoutError> {
    for attempt in 1..=2 {
        if try_charge(total, attempt).await.is_ok() {
            return Ok(());
        }
    }
    Err(CheckoutError::Declined)
}

#[trace(err, args(attempt))]
async fn try_charge(total: u64, attempt: u32) -> Result<(), CheckoutError> {
    tokio::time::sleep(Duration::from_millis(40)).await;
    // The first attempt times out at the bank; the retry goes through.
    if attempt == 1 && total > 0 {
        Err(CheckoutError::Declined)
    } else {
        Ok(())
    }
}

#[trace(name = "orders.publish", kind = producer, args(order))]
fn publish_order(order: u64) {
    let _ = order;
    std::thread::sleep(Duration::from_millis(5));
}

#[tokio::main]
async fn main() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .install()
        .expect("the example installs the only pipeline");

    let cart = Cart {
        id: 1042,
        items: vec![("book", 1999), ("lamp", 4550)],
    };
    let total = checkout(cart).await.expect("checkout succeeds on retry");
    println!("checkout charged {total} cents\n");

    pipeline.flush().expect("flush");
    print_traces(&exporter.get_finished_spans().expect("spans"));
}

/// Prints each trace as a tree: offset from the trace start, duration,
/// status, kind, and the clocks of async spans.
fn print_traces(spans: &[SpanData]) {
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in spans {
        children.entry(span.parent_span_id).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|span| span.start_time);
    }
    for root in children.get(&SpanId::INVALID).into_iter().flatten() {
        println!("trace {}", root.span_context.trace_id());
        print_span(root, root.start_time, &children, "", true);
    }
}

fn print_span(
    span: &SpanData,
    trace_start: SystemTime,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    prefix: &str,
    last: bool,
) {
    let offset = span
        .start_time
        .duration_since(trace_start)
        .unwrap_or_default();
    let duration = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    let status = match &span.status {
        Status::Error { description } => format!(" ERROR: {description}"),
        _ => String::new(),
    };
    let clocks = match (
        int(span, "spanflow.queued_ns"),
        int(span, "spanflow.busy_ns"),
        int(span, "spanflow.idle_ns"),
    ) {
        (Some(q), Some(b), Some(i)) => {
            format!("  [queued {} busy {} idle {}]", ms(q), ms(b), ms(i))
        }
        (Some(q), None, None) => format!("  [queued {}]", ms(q)),
        _ => String::new(),
    };
    let branch = if prefix.is_empty() {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    println!(
        "{prefix}{branch}{} ({:?}) +{:.1}ms {:.1}ms{status}{clocks}",
        span.name,
        span.span_kind,
        offset.as_secs_f64() * 1e3,
        duration.as_secs_f64() * 1e3,
    );
    let child_prefix = if prefix.is_empty() {
        "  ".to_owned()
    } else {
        format!("{prefix}{}", if last { "   " } else { "│  " })
    };
    if let Some(list) = children.get(&span.span_context.span_id()) {
        for (index, child) in list.iter().enumerate() {
            print_span(
                child,
                trace_start,
                children,
                &child_prefix,
                index + 1 == list.len(),
            );
        }
    }
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .and_then(|kv| match kv.value {
            Value::I64(value) => Some(value),
            _ => None,
        })
}

fn ms(nanos: i64) -> String {
    format!("{:.1}ms", nanos as f64 / 1e6)
}
