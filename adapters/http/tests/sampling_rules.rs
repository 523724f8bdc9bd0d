//! Head-sampling rules matching what the server layer knows at a
//! request's start: `{method} {route}` and `http.route`; and the client's
//! `{method}` for a request that starts a trace.

use axum::Router;
use axum::routing::{get, post};
use opentelemetry::trace::TraceContextExt;
use spanflow::{Sampler, SamplingRules};
use spanflow_http::{RequestBuilderExt, TraceLayer};

/// Whether the request's SERVER span is sampled, as the handler sees it.
async fn sampled() -> &'static str {
    if opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
    {
        "sampled"
    } else {
        "dropped"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_checkout_never_health_one_percent_of_the_rest() {
    let _tracing = spanflow::Pipeline::new()
        .with_simple_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
        .with_sampler(Sampler::ratio(0.01))
        .with_sampling_rules(
            SamplingRules::new()
                .name("POST /checkout", Sampler::AlwaysOn)
                .route("/health", Sampler::AlwaysOff)
                .name("PUT", Sampler::AlwaysOn),
        )
        .install()
        .expect("the only pipeline of this binary");
    let app = Router::new()
        .route("/checkout", post(sampled))
        .route("/health", get(sampled))
        .route("/items/{id}", get(sampled).put(sampled))
        .layer(TraceLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let count = |method: reqwest::Method, path: &'static str| {
        let client = client.clone();
        async move {
            let mut kept = 0;
            for _ in 0..200 {
                let body = client
                    .request(method.clone(), format!("http://{address}{path}"))
                    .send()
                    .await
                    .expect("the server answers")
                    .text()
                    .await
                    .expect("a body");
                kept += usize::from(body == "sampled");
            }
            kept
        }
    };
    assert_eq!(
        count(reqwest::Method::POST, "/checkout").await,
        200,
        "always"
    );
    assert_eq!(count(reqwest::Method::GET, "/health").await, 0, "never");
    let rest = count(reqwest::Method::GET, "/items/7").await;
    // 1% of 200 is 2; more than 12 has a probability below 1e-6.
    assert!(rest <= 12, "about 1%: {rest} of 200");

    // A traced client outside any trace: its CLIENT span `PUT` starts the
    // trace, the rule keeps it, and the server follows its parent.
    let mut kept = 0;
    for _ in 0..50 {
        let body = client
            .put(format!("http://{address}/items/7"))
            .send_traced()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("a body");
        kept += usize::from(body == "sampled");
    }
    assert_eq!(kept, 50, "the rule on the client's name keeps every PUT");
}
