//! The seed's order actor, one trace across actor messages.
//!
//! `PlaceOrder` goes to the order actor, which validates the items with the
//! inventory actor (`send_traced`, a reply awaited), then spawns the payment
//! processing as its own task (`spanflow::spawn_local` keeps the context),
//! which charges through the payment actor and tells the ledger
//! (`do_send_traced`, fire and forget). Each handler span shows how long its
//! message waited in the mailbox (`spanflow.mailbox_ns`).
//!
//! Run: `cargo run --example actors`

use std::time::Duration;

use actix::prelude::*;
use spanflow::trace;
use spanflow_actix::{TracedSend, traced_handler};

#[derive(Message)]
#[rtype(result = "Result<u64, String>")]
struct PlaceOrder {
    items: Vec<(&'static str, u64)>,
}

#[derive(Message)]
#[rtype(result = "bool")]
struct CheckStock(Vec<&'static str>);

#[derive(Message)]
#[rtype(result = "Result<(), String>")]
struct Charge(u64);

#[derive(Message)]
#[rtype(result = "()")]
struct Record(u64);

struct Inventory;

impl Actor for Inventory {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<CheckStock> for Inventory {
    type Result = bool;
    fn handle(&mut self, message: CheckStock, _: &mut Context<Self>) -> bool {
        message.0.iter().all(|sku| query_stock(sku))
    }
}

#[trace(name = "postgres.query_inventory", kind = client, args(sku))]
fn query_stock(sku: &str) -> bool {
    std::thread::sleep(Duration::from_millis(8));
    !sku.is_empty()
}

struct Payments;

impl Actor for Payments {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Charge> for Payments {
    type Result = ResponseFuture<Result<(), String>>;
    fn handle(&mut self, message: Charge, _: &mut Context<Self>) -> Self::Result {
        Box::pin(stripe_charge(message.0))
    }
}

#[trace(name = "external.stripe_api", kind = client, err, args(cents))]
async fn stripe_charge(cents: u64) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(40)).await;
    if cents == 0 {
        Err("nothing to charge".into())
    } else {
        Ok(())
    }
}

#[derive(Default)]
struct Ledger {
    total: u64,
}

impl Actor for Ledger {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Record> for Ledger {
    type Result = ();
    fn handle(&mut self, record: Record, _: &mut Context<Self>) {
        self.total += record.0;
        std::thread::sleep(Duration::from_millis(2));
    }
}

struct Orders {
    inventory: Addr<Inventory>,
    payments: Addr<Payments>,
    ledger: Addr<Ledger>,
}

impl Actor for Orders {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<PlaceOrder> for Orders {
    type Result = ResponseFuture<Result<u64, String>>;
    fn handle(&mut self, order: PlaceOrder, _: &mut Context<Self>) -> Self::Result {
        let (inventory, payments, ledger) = (
            self.inventory.clone(),
            self.payments.clone(),
            self.ledger.clone(),
        );
        Box::pin(async move {
            let skus = order.items.iter().map(|(sku, _)| *sku).collect();
            if !inventory
                .send_traced(CheckStock(skus))
                .await
                .map_err(|e| e.to_string())?
            {
                return Err("out of stock".into());
            }
            let total: u64 = order.items.iter().map(|(_, cents)| cents).sum();
            // Payment processing runs as its own task; it stays in the trace.
            let payment = spanflow::spawn_local(process_payment(payments, ledger, total));
            payment.await.map_err(|e| e.to_string())??;
            Ok(total)
        })
    }
}

#[trace(name = "order.process_payment", err)]
async fn process_payment(
    payments: Addr<Payments>,
    ledger: Addr<Ledger>,
    total: u64,
) -> Result<(), String> {
    payments
        .send_traced(Charge(total))
        .await
        .map_err(|e| e.to_string())??;
    ledger.do_send_traced(Record(total));
    Ok(())
}

#[trace(name = "checkout", kind = server)]
async fn checkout(orders: Addr<Orders>) -> Result<u64, String> {
    let order = PlaceOrder {
        items: vec![("book", 1999), ("lamp", 4550)],
    };
    orders.send_traced(order).await.map_err(|e| e.to_string())?
}

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tracing = spanflow::pipeline!().install()?;
    let ledger = Ledger::default().start();
    let orders = Orders {
        inventory: Inventory.start(),
        payments: Payments.start(),
        ledger: ledger.clone(),
    }
    .start();

    let total = checkout(orders).await?;
    // The ledger was told with do_send; an untraced round trip behind it
    // (mailboxes are FIFO) means it has handled the record before the trace
    // is drawn.
    ledger.send(Record(0)).await?;
    println!("order placed: {total} cents\n");
    tracing.shutdown()?;
    Ok(())
}
