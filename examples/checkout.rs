//! The seed's checkout, one trace across real HTTP hops, drawn on the
//! embedded default.
//!
//! Every seed service is an axum server on an ephemeral 127.0.0.1 port in
//! this one process, traced with `spanflow_http::TraceLayer`; the gateway
//! calls them through a reqwest client with `TracingMiddleware`. `POST
//! /checkout` validates the request, verifies the token (auth, through a
//! Redis cache), reserves stock (inventory: a Postgres query, then a Kafka
//! event published from a spawned task), charges the card (payment, through
//! Stripe: the first attempt times out and is retried) and creates the
//! order. Datastores and Stripe are simulated, in the seed's proportions at a
//! quarter of its scale; the Kafka event is a real produce (a PRODUCER span
//! `send reservations`, its context in the record's headers) when a broker
//! is given, and simulated otherwise. The payment service's log line about
//! the retry becomes an event on its span (drawn in the tree) and is written
//! to standard error with the trace and span ids.
//!
//! Run: `cargo run --example checkout` (`SPANFLOW_EXPORT=json:trace.jsonl`
//! writes OTLP/JSON instead); `cargo run --example checkout -- --kafka
//! 127.0.0.1:9092` publishes to that broker (see `examples/kafka.rs` for
//! starting one).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use reqwest_middleware::ClientWithMiddleware;
use spanflow::config::PeerServiceMapping;
use spanflow::trace;
use spanflow_http::{HttpSpanOptions, TraceLayer, TracingMiddleware};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[path = "common/kafka_setup.rs"]
mod kafka_setup;

/// Simulated work of the seed's proportions, scaled down four times.
async fn latency(seed_ms: u64) {
    tokio::time::sleep(Duration::from_millis(seed_ms / 4)).await;
}

/// Starts `app` on an ephemeral loopback port.
async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// The gateway's client. Its spans name the service each call goes to
/// (`peer.service`), which a backend's service graph, and `spanflow
/// latency --by peer.service --kind client`, group calls by.
fn traced_client(
    peers: &[(SocketAddr, &str)],
) -> Result<ClientWithMiddleware, spanflow::config::ConfigError> {
    let peers = peers
        .iter()
        .map(|(address, service)| PeerServiceMapping::new(&address.to_string(), service))
        .collect::<Result<Vec<_>, _>>()?;
    let options = HttpSpanOptions::new().peer_services(peers);
    Ok(
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(TracingMiddleware::with_options(options))
            .build(),
    )
}

/// A call to another service: `Ok` on 2xx, the status otherwise.
async fn call(
    client: &ClientWithMiddleware,
    url: String,
    body: String,
) -> Result<String, StatusCode> {
    let response = client
        .post(url)
        .body(body)
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let status = response.status();
    let text = response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(status)
    }
}

mod auth_service {
    use super::*;

    pub fn router() -> Router {
        Router::new()
            .route("/verify", post(verify))
            .layer(TraceLayer::new())
    }

    #[trace(name = "auth_service.verify_token")]
    async fn verify(token: String) -> StatusCode {
        latency(10).await;
        let cached = check_token_cache(&token).await;
        latency(28).await;
        if cached || token.starts_with("tok_") {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    #[trace(name = "redis.check_token_cache", kind = client, fields(peer.service = "redis"))]
    async fn check_token_cache(token: &str) -> bool {
        latency(2).await;
        token.len() > 8
    }
}

mod inventory_service {
    use std::sync::OnceLock;

    use rdkafka::producer::FutureRecord;
    use spanflow_kafka::TracedProducer;

    use super::*;

    pub const TOPIC: &str = "reservations";

    /// The producer of reservation events, when a broker was given.
    pub static KAFKA: OnceLock<TracedProducer> = OnceLock::new();

    pub fn router() -> Router {
        Router::new()
            .route("/reserve", post(reserve))
            .layer(TraceLayer::new())
    }

    /// The body lists SKUs, one per line.
    #[trace(name = "inventory_service.reserve_items", fields(items = skus.lines().count()))]
    async fn reserve(skus: String) -> StatusCode {
        for sku in skus.lines() {
            if !query_inventory(sku).await {
                return StatusCode::CONFLICT;
            }
        }
        // Published from its own task, as a service would; spanflow::spawn
        // keeps it in this trace.
        let published = spanflow::spawn(publish_reservation_event(skus.lines().count()));
        latency(10).await;
        let _ = published.await;
        StatusCode::OK
    }

    #[trace(
        name = "postgres.query_inventory",
        kind = client,
        args(sku),
        fields(peer.service = "postgres")
    )]
    async fn query_inventory(sku: &str) -> bool {
        latency(60).await;
        !sku.is_empty()
    }

    #[trace(name = "inventory_service.publish_reservation_event", args(items))]
    async fn publish_reservation_event(items: usize) {
        let Some(producer) = KAFKA.get() else {
            return simulated_send(items).await;
        };
        let payload = items.to_string();
        let record = FutureRecord::to(TOPIC).key("reservation").payload(&payload);
        if let Err((error, _)) = producer.send(record, Duration::from_secs(5)).await {
            eprintln!("reservation event not published: {error}");
        }
    }

    /// What a real send records, without a broker.
    #[trace(name = "send reservations", kind = producer, args(items))]
    async fn simulated_send(items: usize) {
        let _ = items;
        latency(15).await;
    }
}

mod payment_service {
    use super::*;

    pub fn router() -> Router {
        Router::new()
            .route("/charge", post(charge))
            .layer(TraceLayer::new())
    }

    /// The body is the amount in cents. Stripe is slow on the first attempt;
    /// the timeout cancels it (its span ends marked cancelled) and the retry
    /// succeeds.
    #[trace(name = "payment_service.charge", args(cents))]
    async fn charge(cents: String) -> StatusCode {
        for attempt in 1..=2 {
            match tokio::time::timeout(Duration::from_millis(100), stripe_api(attempt)).await {
                Ok(()) => return StatusCode::OK,
                Err(_timed_out) => {
                    tracing::warn!(attempt, "stripe did not answer within 100ms; retrying");
                }
            }
        }
        StatusCode::GATEWAY_TIMEOUT
    }

    #[trace(
        name = "external.stripe_api",
        kind = client,
        args(attempt),
        fields(peer.service = "stripe")
    )]
    async fn stripe_api(attempt: u32) {
        latency(if attempt == 1 { 2_000 } else { 300 }).await;
    }
}

mod order_service {
    use super::*;

    pub fn router() -> Router {
        Router::new()
            .route("/orders", post(create_order))
            .layer(TraceLayer::new())
    }

    #[trace(name = "order_service.create_order", ret)]
    async fn create_order(total: String) -> String {
        latency(40).await;
        format!("order for {total} cents")
    }
}

mod api_gateway {
    use super::*;

    /// Where the gateway finds the other services.
    pub struct Services {
        pub client: ClientWithMiddleware,
        pub auth: SocketAddr,
        pub inventory: SocketAddr,
        pub payment: SocketAddr,
        pub orders: SocketAddr,
    }

    pub fn router(services: Arc<Services>) -> Router {
        Router::new()
            .route("/checkout", post(checkout))
            .with_state(services)
            .layer(TraceLayer::new())
    }

    /// The body: a token on the first line, then `sku cents` per line.
    async fn checkout(
        State(services): State<Arc<Services>>,
        body: String,
    ) -> Result<String, StatusCode> {
        let (token, cart) = validate_request(&body).await?;
        let client = &services.client;
        call(client, format!("http://{}/verify", services.auth), token).await?;
        let skus: Vec<&str> = cart.iter().map(|(sku, _)| *sku).collect();
        call(
            client,
            format!("http://{}/reserve", services.inventory),
            skus.join("\n"),
        )
        .await?;
        let total: u64 = cart.iter().map(|(_, cents)| cents).sum();
        call(
            client,
            format!("http://{}/charge", services.payment),
            total.to_string(),
        )
        .await?;
        call(
            client,
            format!("http://{}/orders", services.orders),
            total.to_string(),
        )
        .await
    }

    #[trace(name = "api_gateway.validate_request", err(Debug))]
    async fn validate_request(body: &str) -> Result<(String, Vec<(&str, u64)>), StatusCode> {
        latency(5).await;
        let mut lines = body.lines();
        let token = lines.next().ok_or(StatusCode::BAD_REQUEST)?.to_owned();
        let cart = lines
            .map(|line| {
                let (sku, cents) = line.split_once(' ').ok_or(StatusCode::BAD_REQUEST)?;
                Ok((sku, cents.parse().map_err(|_| StatusCode::BAD_REQUEST)?))
            })
            .collect::<Result<Vec<_>, StatusCode>>()?;
        if cart.is_empty() {
            return Err(StatusCode::BAD_REQUEST);
        }
        Ok((token, cart))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded default: the trace is drawn below when it finishes.
    let pipeline = spanflow::pipeline!().install()?;
    // Log lines become events on the span they are written in, and carry
    // its ids on standard error.
    tracing_subscriber::registry()
        .with(spanflow::logs::SpanEventLayer::new())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .event_format(spanflow::logs::WithTraceIds::new(
                    tracing_subscriber::fmt::format(),
                )),
        )
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init()?;
    connect_kafka().await?;

    let auth = serve(auth_service::router()).await?;
    let inventory = serve(inventory_service::router()).await?;
    let payment = serve(payment_service::router()).await?;
    let orders = serve(order_service::router()).await?;
    let client = traced_client(&[
        (auth, "auth_service"),
        (inventory, "inventory_service"),
        (payment, "payment_service"),
        (orders, "order_service"),
    ])?;
    let services = Arc::new(api_gateway::Services {
        client,
        auth,
        inventory,
        payment,
        orders,
    });
    let gateway = serve(api_gateway::router(services)).await?;

    // A user's browser: no tracing of its own, so the gateway starts the trace.
    let response = reqwest::Client::new()
        .post(format!("http://{gateway}/checkout"))
        .body("tok_4242424242\nbook 1999\nlamp 4550")
        .send()
        .await?;
    println!(
        "POST /checkout -> {}: {}\n",
        response.status(),
        response.text().await?
    );

    pipeline.shutdown()?;
    Ok(())
}

/// With `--kafka ADDRESS`, reservation events go to that broker.
async fn connect_kafka() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(flag) = args.next() else {
        return Ok(());
    };
    let broker = match (flag.as_str(), args.next()) {
        ("--kafka", Some(broker)) => broker,
        _ => return Err("usage: checkout [--kafka BROKER_ADDRESS]".into()),
    };
    if !kafka_setup::answers(&broker) {
        kafka_setup::explain_missing_broker(
            &broker,
            "cargo run --example checkout -- --kafka 127.0.0.1:9092",
        );
        std::process::exit(2);
    }
    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", &broker)
        .set("client.id", "inventory-service");
    kafka_setup::create_topic(&config, inventory_service::TOPIC).await?;
    let producer = spanflow_kafka::TracedProducer::from_config(&config)?;
    let _ = inventory_service::KAFKA.set(producer);
    Ok(())
}
