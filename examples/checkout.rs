//! The seed's checkout, one trace end to end, drawn on the embedded default.
//!
//! `POST /checkout` validates the request at the gateway, verifies the token
//! (through a Redis cache), reserves stock (a Postgres query, then a Kafka
//! event published from a spawned task, as a service would), charges the card
//! through Stripe (the first attempt times out and is retried), and creates
//! the order. Latencies are simulated in the seed's proportions, a quarter
//! of its scale. Each service is a module whose public fn is the hop; later
//! issues replace those hops with real HTTP, actor and Kafka calls.
//!
//! Run: `cargo run --example checkout` (`SPANFLOW_EXPORT=json:trace.jsonl`
//! writes OTLP/JSON instead).

use std::time::Duration;

use spanflow::trace;

/// A request as the gateway sees it.
#[derive(Clone, Debug)]
struct Checkout {
    token: String,
    cart: Vec<(&'static str, u32)>,
}

/// Why a checkout failed.
#[derive(Debug)]
enum CheckoutError {
    Unauthorized,
    OutOfStock(&'static str),
    PaymentDeclined,
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckoutError::Unauthorized => f.write_str("token rejected"),
            CheckoutError::OutOfStock(sku) => write!(f, "{sku} is out of stock"),
            CheckoutError::PaymentDeclined => f.write_str("payment declined"),
        }
    }
}

impl std::error::Error for CheckoutError {}

/// Simulated work of the seed's proportions, scaled down four times.
async fn latency(seed_ms: u64) {
    tokio::time::sleep(Duration::from_millis(seed_ms / 4)).await;
}

mod api_gateway {
    use super::*;

    #[trace(name = "POST /checkout", kind = server, err, fields(cart.items = request.cart.len()))]
    pub async fn checkout(request: Checkout) -> Result<u64, CheckoutError> {
        validate_request(&request).await?;
        auth_service::verify_token(request.token.clone()).await?;
        inventory_service::reserve_items(request.cart.clone()).await?;
        let total = request
            .cart
            .iter()
            .map(|(_, cents)| u64::from(*cents))
            .sum();
        payment_service::charge(total).await?;
        order_service::create_order(total).await
    }

    #[trace(name = "api_gateway.validate_request", err)]
    async fn validate_request(request: &Checkout) -> Result<(), CheckoutError> {
        latency(5).await;
        if request.cart.is_empty() {
            return Err(CheckoutError::OutOfStock("nothing"));
        }
        Ok(())
    }
}

mod auth_service {
    use super::*;

    #[trace(name = "auth_service.verify_token", kind = client, err)]
    pub async fn verify_token(token: String) -> Result<(), CheckoutError> {
        latency(10).await;
        let cached = redis::check_token_cache(&token).await;
        latency(28).await;
        if cached || token.starts_with("tok_") {
            Ok(())
        } else {
            Err(CheckoutError::Unauthorized)
        }
    }

    mod redis {
        use super::*;

        #[trace(name = "redis.check_token_cache", kind = client)]
        pub async fn check_token_cache(token: &str) -> bool {
            latency(2).await;
            token.len() > 8
        }
    }
}

mod inventory_service {
    use super::*;

    #[trace(name = "inventory_service.reserve_items", kind = client, err, fields(items = cart.len()))]
    pub async fn reserve_items(cart: Vec<(&'static str, u32)>) -> Result<(), CheckoutError> {
        for (sku, _) in &cart {
            if !postgres::query_inventory(sku).await {
                return Err(CheckoutError::OutOfStock(sku));
            }
        }
        // The event goes out on its own task, as a service would publish it;
        // spanflow::spawn keeps it in this trace.
        let published = spanflow::spawn(kafka::publish_reservation_event(cart.len()));
        latency(10).await;
        published.await.expect("publish task");
        Ok(())
    }

    mod postgres {
        use super::*;

        #[trace(name = "postgres.query_inventory", kind = client, args(sku))]
        pub async fn query_inventory(sku: &str) -> bool {
            latency(60).await;
            !sku.is_empty()
        }
    }

    mod kafka {
        use super::*;

        #[trace(name = "kafka.publish_reservation_event", kind = producer, args(items))]
        pub async fn publish_reservation_event(items: usize) {
            let _ = items;
            latency(15).await;
        }
    }
}

mod payment_service {
    use super::*;

    #[trace(name = "payment_service.charge", kind = client, err, args(cents))]
    pub async fn charge(cents: u64) -> Result<(), CheckoutError> {
        for attempt in 1..=2 {
            match tokio::time::timeout(
                Duration::from_millis(400 / 4),
                external::stripe_api(cents, attempt),
            )
            .await
            {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) => return Err(error),
                Err(_timed_out) => continue,
            }
        }
        Err(CheckoutError::PaymentDeclined)
    }

    mod external {
        use super::*;

        /// The bank is slow on the first attempt; the timeout cancels it
        /// (its span ends marked `spanflow.cancelled`) and the retry succeeds.
        #[trace(name = "external.stripe_api", kind = client, err, args(attempt))]
        pub async fn stripe_api(cents: u64, attempt: u32) -> Result<(), CheckoutError> {
            latency(if attempt == 1 { 2_000 } else { 300 }).await;
            if cents == 0 {
                Err(CheckoutError::PaymentDeclined)
            } else {
                Ok(())
            }
        }
    }
}

mod order_service {
    use super::*;

    #[trace(name = "order_service.create_order", kind = client, ret)]
    pub async fn create_order(total: u64) -> Result<u64, CheckoutError> {
        latency(40).await;
        Ok(total)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded default: the trace is drawn below when it finishes.
    let tracing = spanflow::pipeline!().install()?;

    let request = Checkout {
        token: "tok_4242424242".to_owned(),
        cart: vec![("book", 1999), ("lamp", 4550)],
    };
    let total = api_gateway::checkout(request).await?;
    println!("checkout charged {total} cents\n");

    tracing.shutdown()?;
    Ok(())
}
