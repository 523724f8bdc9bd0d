//! Cost of tracing an HTTP request end to end: a GET round trip on loopback
//! (keep-alive) through plain reqwest and axum, against the same with
//! spanflow's client and server instrumentation, sampled, exported through a
//! batch processor that discards.
//!
//! Run: `cargo bench -p spanflow-benches --bench http`

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use spanflow_benches::{Discard, SPANS_PER_DRAIN, time_batches_with_drains};
use spanflow_http::{TraceLayer, TracingMiddleware};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

fn round_trip(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let pipeline = spanflow::Pipeline::new()
        .with_batch_exporter(Discard)
        .install()
        .unwrap();
    let (plain_server, traced_server) = runtime.block_on(async {
        let plain = serve(Router::new().route("/", get(|| async { "ok" }))).await;
        let traced = serve(
            Router::new()
                .route("/", get(|| async { "ok" }))
                .layer(TraceLayer::new()),
        )
        .await;
        (plain, traced)
    });
    let plain_client = reqwest::Client::new();
    let traced_client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build();

    let mut group = c.benchmark_group("http_round_trip");
    group.bench_function("untraced client -> untraced server", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let url = format!("http://{plain_server}/");
                let start = Instant::now();
                for _ in 0..iters {
                    plain_client
                        .get(&url)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("traced client -> traced server (2 spans)", |b| {
        b.iter_custom(|iters| {
            time_batches_with_drains(
                iters,
                SPANS_PER_DRAIN / 2,
                |calls| {
                    runtime.block_on(async {
                        let url = format!("http://{traced_server}/");
                        let start = Instant::now();
                        for _ in 0..calls {
                            traced_client
                                .get(&url)
                                .send()
                                .await
                                .unwrap()
                                .bytes()
                                .await
                                .unwrap();
                        }
                        start.elapsed()
                    })
                },
                || pipeline.flush().unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = round_trip
}
criterion_main!(benches);
