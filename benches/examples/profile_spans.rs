//! A tight loop of sampled spans, for profilers:
//! `valgrind --tool=callgrind target/release/examples/profile_spans sync`.
//!
//! `profile_spans MODE [COUNT] [SPANS_BETWEEN_FLUSHES]`; MODE is `sync`,
//! `fields` (three attributes), `tree` (a root and ten children: the child
//! path; times are per span), `async`, `unsampled`, `least`
//! (`spanflow_benches::least`), `least-tree`, `least-busy` (`least` with
//! another thread busy), `api` (a span through the OpenTelemetry API into
//! the pipeline), `writable` (`sync` with
//! `Pipeline::with_writable_active_span`), `event` (`sync` adding one
//! event to the current span, as a log line through a bridge does), `log`
//! (`sync` with `tracing::info!(order, "charged")` through
//! `SpanEventLayer`), `inject`, `extract` or `extract-headers`.

use opentelemetry::trace::{TraceContextExt, Tracer};
use spanflow_benches::{Discard, Repoll, run};

#[spanflow::trace]
fn empty() {}

#[spanflow::trace]
fn with_an_event() {
    spanflow::current::add_event("step", Vec::new());
}

#[spanflow::trace]
fn with_a_log_line(order: i64) {
    tracing::info!(order, "charged");
}

#[spanflow::trace(fields(order.id = id, tenant = "acme", region = region))]
fn with_fields(id: i64, region: &str) {
    std::hint::black_box((id, region));
}

/// A root with ten children: the child path, as `root_with_10_children`.
#[spanflow::trace]
fn tree() {
    for _ in 0..10 {
        empty();
    }
}

fn least_tree() {
    spanflow_benches::least::in_span("root", || {
        for _ in 0..10 {
            spanflow_benches::least::in_span("child", || {});
        }
    });
}

#[spanflow::trace]
async fn polled() {
    Repoll::new(10).await;
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "sync".into());
    let count: u64 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let pipeline = spanflow::Pipeline::new()
        .with_batch_exporter(Discard)
        .with_writable_active_span(mode == "writable")
        .install()
        .expect("install");
    let unsampled = opentelemetry::Context::new().with_remote_span_context(
        opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from(7u128),
            opentelemetry::trace::SpanId::from(7u64),
            opentelemetry::trace::TraceFlags::NOT_SAMPLED,
            true,
            Default::default(),
        ),
    );
    let _guard = (mode == "unsampled").then(|| unsampled.attach());
    let _subscriber = (mode == "log").then(|| {
        use tracing_subscriber::layer::SubscriberExt;
        tracing::subscriber::set_default(
            tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new()),
        )
    });
    if mode == "extract-headers" {
        let propagator = spanflow::propagation::TraceContextPropagator::new();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        );
        for _ in 0..count {
            std::hint::black_box(
                propagator.extract_span_context(&spanflow_http::Headers(&headers)),
            );
        }
        return;
    }
    if mode == "inject" {
        use opentelemetry::propagation::TextMapPropagator;
        let propagator = spanflow::propagation::TraceContextPropagator::new();
        let cx = spanflow_benches::traceparent_context();
        let mut carrier = std::collections::HashMap::with_capacity(4);
        for _ in 0..count {
            carrier.clear();
            propagator.inject_context(&cx, &mut carrier);
            std::hint::black_box(&carrier);
        }
        return;
    }
    if mode == "extract" {
        let propagator = spanflow::propagation::TraceContextPropagator::new();
        let mut headers = std::collections::HashMap::new();
        headers.insert(
            "traceparent".to_owned(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        );
        for _ in 0..count {
            std::hint::black_box(propagator.extract_span_context(&headers));
        }
        return;
    }
    // Spans between flushes: by default few enough that the collector
    // rarely runs while spans are made (as in the criterion benches); with
    // more (up to a ring's 16,384) it wakes at 1,024 waiting spans and
    // drains while the loop runs, as under sustained load.
    let flush_every: u64 = std::env::args()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    if mode == "least-busy" {
        // Unrelated work on the other core, for comparison with the
        // collector's: the least span shares nothing with it.
        std::thread::spawn(|| {
            loop {
                std::hint::black_box((0..64).map(|i| i.to_string()).collect::<Vec<_>>());
            }
        });
    }
    // Spans made through the OpenTelemetry API, as third-party
    // instrumentation makes them, into spanflow's pipeline.
    let api_tracer = opentelemetry::global::tracer("third-party");
    let spans_per_call = if mode.ends_with("tree") { 11 } else { 1 };
    let calls_per_chunk = 500 / spans_per_call;
    let mut timed = std::time::Duration::ZERO;
    let chunks_per_flush = (flush_every / 500).max(1);
    for chunk in 0..count / 500 {
        let started = std::time::Instant::now();
        for _ in 0..calls_per_chunk {
            match mode.as_str() {
                "async" => run(polled()),
                "fields" => with_fields(7, "eu-west-1"),
                "event" => with_an_event(),
                "log" => with_a_log_line(7),
                "least" | "least-busy" => spanflow_benches::least::in_span("f", || {}),
                "tree" => tree(),
                "least-tree" => least_tree(),
                "api" => api_tracer.in_span("f", |_| {}),
                _ => empty(),
            }
        }
        timed += started.elapsed();
        if chunk % chunks_per_flush == 0 {
            pipeline.flush().expect("flush");
        }
    }
    eprintln!(
        "dropped {}; {:.1} ns a span in the loop, flushes excluded",
        pipeline.dropped_spans(),
        timed.as_nanos() as f64 / (count / 500 * calls_per_chunk * spans_per_call) as f64
    );
}
