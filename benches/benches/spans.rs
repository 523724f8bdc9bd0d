//! spanflow against its anchors, side by side in one run: the OpenTelemetry
//! SDK (`tracer.in_span`, batch processor), tracing + tracing-opentelemetry
//! into the same SDK pipeline, fastrace, and the least a span can do under
//! the same rules (`spanflow_benches::least`), also with its record handed
//! to another thread (`least::handed_off`); and an event on the current
//! span, inside the span's work and under its context attached by hand.
//! Every exporter discards; export queues are drained outside the timed
//! region.
//!
//! Run: `cargo bench -p spanflow-benches --bench spans`

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::trace::{
    FutureExt as _, SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider as _,
};
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider};
use spanflow::{PipelineGuard, TracedExt};
use spanflow_benches::{Discard, Repoll, bench_drained, least, run};
use tracing_subscriber::layer::SubscriberExt;

struct Anchors {
    spanflow: PipelineGuard,
    sdk: SdkTracerProvider,
    sdk_tracer: SdkTracer,
    sdk_off_tracer: SdkTracer,
    /// Through spanflow's installed provider, as third-party
    /// instrumentation makes its spans.
    api_tracer: opentelemetry::global::BoxedTracer,
}

fn anchors() -> &'static Anchors {
    static ANCHORS: OnceLock<Anchors> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        let spanflow = spanflow::Pipeline::new()
            .with_batch_exporter(Discard)
            .install()
            .expect("one pipeline per process");

        let sdk = SdkTracerProvider::builder()
            .with_span_processor(BatchSpanProcessor::builder(Discard).build())
            .build();
        let sdk_tracer = sdk.tracer("anchor");
        let sdk_off = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .with_span_processor(BatchSpanProcessor::builder(Discard).build())
            .build();
        let sdk_off_tracer = sdk_off.tracer("anchor-off");
        std::mem::forget(sdk_off);

        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(sdk.tracer("tracing")));
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");

        fastrace::set_reporter(NullReporter, fastrace::collector::Config::default());
        Anchors {
            spanflow,
            sdk,
            sdk_tracer,
            sdk_off_tracer,
            api_tracer: opentelemetry::global::tracer("third-party"),
        }
    })
}

struct NullReporter;

impl fastrace::collector::Reporter for NullReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        drop(spans);
    }
}

fn drain_spanflow() {
    anchors().spanflow.flush().expect("flush");
}

fn drain_sdk() {
    let _ = anchors().sdk.force_flush();
}

// ---- the instrumented functions -------------------------------------------------

#[spanflow::trace]
fn spanflow_empty() {}

#[spanflow::trace]
fn spanflow_root() {
    for _ in 0..10 {
        spanflow_empty();
    }
}

#[tracing::instrument]
fn tracing_empty() {}

#[tracing::instrument]
fn tracing_root() {
    for _ in 0..10 {
        tracing_empty();
    }
}

/// A log line inside a span, through spanflow's `SpanEventLayer`.
#[spanflow::trace]
fn spanflow_logged() {
    tracing::info!("step");
}

/// A log line inside a span, through tracing-opentelemetry.
#[tracing::instrument]
fn tracing_logged() {
    tracing::info!("step");
}

#[fastrace::trace]
fn fastrace_child() {}

fn fastrace_root_with_children() {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let _guard = root.set_local_parent();
    for _ in 0..10 {
        fastrace_child();
    }
}

/// A span with three attributes: an integer, a static string and a
/// borrowed one (copied into the span).
#[spanflow::trace(fields(order.id = id, tenant = "acme", region = region))]
fn spanflow_fields(id: i64, region: &str) {
    black_box((id, region));
}

#[spanflow::trace]
async fn spanflow_async(polls: u32) {
    Repoll::new(polls).await;
}

#[tracing::instrument]
async fn tracing_async(polls: u32) {
    Repoll::new(polls).await;
}

// ---- benchmarks -------------------------------------------------------------------

fn new_fastrace_root() -> fastrace::Span {
    fastrace::Span::root("f", fastrace::collector::SpanContext::random())
}

fn sampled_span(c: &mut Criterion) {
    let anchors = anchors();
    let mut group = c.benchmark_group("sampled_span");
    bench_drained(
        &mut group,
        "spanflow #[trace]",
        1,
        spanflow_empty,
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "otel sdk in_span",
        1,
        || anchors.sdk_tracer.in_span("f", |_| {}),
        drain_sdk,
    );
    bench_drained(
        &mut group,
        "otel api span, spanflow pipeline",
        1,
        || anchors.api_tracer.in_span("f", |_| {}),
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "tracing-opentelemetry",
        1,
        tracing_empty,
        drain_sdk,
    );
    bench_drained(
        &mut group,
        "fastrace",
        1,
        || drop(black_box(new_fastrace_root())),
        fastrace::flush,
    );
    group.bench_function(LEAST, |b| b.iter(|| least::in_span("f", || {})));
    bench_drained(
        &mut group,
        LEAST_HANDED_OFF,
        1,
        || least::handed_off::in_span("f", || {}),
        drain_least_handed_off,
    );
    group.finish();
}

/// The row of `spanflow_benches::least`.
const LEAST: &str = "least possible (Context + clocks + thread-local record)";
/// The row of `spanflow_benches::least::handed_off`.
const LEAST_HANDED_OFF: &str = "least + hand-off (record read on another thread)";

fn drain_least_handed_off() {
    least::handed_off::drain();
}

fn root_with_ten_children(c: &mut Criterion) {
    let anchors = anchors();
    let mut group = c.benchmark_group("root_with_10_children");
    bench_drained(
        &mut group,
        "spanflow #[trace]",
        11,
        spanflow_root,
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "otel sdk in_span",
        11,
        || {
            anchors.sdk_tracer.in_span("root", |_| {
                for _ in 0..10 {
                    anchors.sdk_tracer.in_span("child", |_| {});
                }
            })
        },
        drain_sdk,
    );
    bench_drained(
        &mut group,
        "tracing-opentelemetry",
        11,
        tracing_root,
        drain_sdk,
    );
    bench_drained(
        &mut group,
        "fastrace",
        11,
        fastrace_root_with_children,
        fastrace::flush,
    );
    group.bench_function(LEAST, |b| {
        b.iter(|| {
            least::in_span("root", || {
                for _ in 0..10 {
                    least::in_span("child", || {});
                }
            })
        })
    });
    bench_drained(
        &mut group,
        LEAST_HANDED_OFF,
        11,
        || {
            least::handed_off::in_span("root", || {
                for _ in 0..10 {
                    least::handed_off::in_span("child", || {});
                }
            })
        },
        drain_least_handed_off,
    );
    group.finish();
}

fn unsampled(c: &mut Criterion) {
    let anchors = anchors();
    let unsampled_parent = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x5eed_u128),
        opentelemetry::trace::SpanId::from(0x5eed_u64),
        TraceFlags::NOT_SAMPLED,
        true,
        TraceState::NONE,
    ));
    let mut group = c.benchmark_group("unsampled");
    group.bench_function("spanflow child of unsampled parent", |b| {
        let _guard = unsampled_parent.clone().attach();
        b.iter(spanflow_empty)
    });
    group.bench_function("otel sdk child of unsampled parent", |b| {
        let _guard = unsampled_parent.clone().attach();
        b.iter(|| anchors.sdk_tracer.in_span("f", |_| {}))
    });
    group.bench_function("spanflow root dropped by sampler", |b| {
        anchors.spanflow.set_sampler(spanflow::Sampler::AlwaysOff);
        b.iter(spanflow_empty);
        anchors.spanflow.set_sampler(spanflow::Sampler::AlwaysOn);
    });
    group.bench_function("otel sdk AlwaysOff root", |b| {
        b.iter(|| anchors.sdk_off_tracer.in_span("f", |_| {}))
    });
    group.finish();
}

/// A sampled span given three attributes, as instrumented code gives them.
fn with_attributes(c: &mut Criterion) {
    let anchors = anchors();
    let region = String::from("eu-west-1");
    let mut group = c.benchmark_group("sampled_span_with_3_attributes");
    bench_drained(
        &mut group,
        "spanflow #[trace(fields(...))]",
        1,
        || spanflow_fields(black_box(7), &region),
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "otel sdk span builder, made current",
        1,
        || {
            let span = anchors
                .sdk_tracer
                .span_builder("f")
                .with_attributes([
                    opentelemetry::KeyValue::new("order.id", black_box(7_i64)),
                    opentelemetry::KeyValue::new("tenant", "acme"),
                    opentelemetry::KeyValue::new("region", region.clone()),
                ])
                .start(&anchors.sdk_tracer);
            let _current = Context::current_with_span(span).attach();
        },
        drain_sdk,
    );
    group.finish();
}

/// A sampled span under a local parent whose trace carries a `tracestate`:
/// the probability sampler's `ot=th` and another vendor's entry, as in
/// every span of a ratio-sampled trace that came through a vendor's agent.
fn under_tracestate(c: &mut Criterion) {
    let anchors = anchors();
    let parent = Context::new().with_remote_span_context(SpanContext::new(
        // All-ones randomness: kept by any threshold, so spanflow's
        // consistency check leaves the state as it is.
        TraceId::from(u128::MAX),
        opentelemetry::trace::SpanId::from(0x5eed_u64),
        TraceFlags::SAMPLED,
        false,
        "ot=th:8,rojo=00f067aa0ba902b7"
            .parse()
            .expect("a valid tracestate"),
    ));
    let mut group = c.benchmark_group("sampled_span_under_tracestate");
    group.bench_function(
        "spanflow #[trace], a root a ratio sampler keeps (writes ot=th)",
        |b| {
            // Ratio 1: every root kept, each starting the trace's state with its
            // threshold, as the roots a ratio sampler keeps do.
            anchors.spanflow.set_sampler(spanflow::Sampler::ratio(1.0));
            b.iter_custom(|iters| {
                spanflow_benches::time_with_drains(iters, 1, spanflow_empty, drain_spanflow)
            });
            anchors.spanflow.set_sampler(spanflow::Sampler::AlwaysOn);
        },
    );
    bench_drained(
        &mut group,
        "spanflow #[trace]",
        1,
        || {
            let _guard = parent.clone().attach();
            spanflow_empty()
        },
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "otel sdk in_span",
        1,
        || {
            let _guard = parent.clone().attach();
            anchors.sdk_tracer.in_span("f", |_| {})
        },
        drain_sdk,
    );
    group.finish();
}

fn async_repolls(c: &mut Criterion) {
    let anchors = anchors();
    for polls in [10u32, 100] {
        let mut group = c.benchmark_group(format!("async_{polls}_repolls"));
        group.bench_function("bare future (no span)", |b| {
            b.iter(|| run(Repoll::new(polls)))
        });
        bench_drained(
            &mut group,
            "spanflow #[trace] (clocks)",
            1,
            || run(spanflow_async(polls)),
            drain_spanflow,
        );
        bench_drained(
            &mut group,
            "spanflow Traced without clocks",
            1,
            || {
                run(Repoll::new(polls)
                    .in_span(spanflow::span!("f"))
                    .without_clocks())
            },
            drain_spanflow,
        );
        bench_drained(
            &mut group,
            "otel sdk with_context",
            1,
            || {
                let cx = Context::current_with_span(anchors.sdk_tracer.start("f"));
                run(Repoll::new(polls).with_context(cx.clone()));
                cx.span().end();
            },
            drain_sdk,
        );
        bench_drained(
            &mut group,
            "tracing-opentelemetry",
            1,
            || run(tracing_async(polls)),
            drain_sdk,
        );
        bench_drained(
            &mut group,
            "fastrace",
            1,
            || {
                run(fastrace::future::FutureExt::in_span(
                    Repoll::new(polls),
                    new_fastrace_root(),
                ))
            },
            fastrace::flush,
        );
        group.bench_function(format!("{LEAST}, clocks"), |b| {
            b.iter(|| run(least::Traced::new(Repoll::new(polls), true)))
        });
        group.bench_function(format!("{LEAST}, no clocks"), |b| {
            b.iter(|| run(least::Traced::new(Repoll::new(polls), false)))
        });
        group.finish();
    }
}

/// A span and one event added to the current span without a handle (what
/// a log line through spanflow's bridges does): inside the span's work,
/// where the event moves into the record directly, and under the span's
/// context attached by hand, where it goes through the collector; the
/// SDK's span written through the API's active span beside them. Then a
/// `tracing::info!` line inside a span, through spanflow's
/// `SpanEventLayer` and through tracing-opentelemetry.
fn event_on_the_current_span(c: &mut Criterion) {
    let anchors = anchors();
    let mut group = c.benchmark_group("span_with_an_event_on_the_current_span");
    bench_drained(
        &mut group,
        "spanflow, added in Span::in_scope",
        1,
        || {
            let mut span = spanflow::span!("f");
            span.in_scope(|| spanflow::current::add_event("step", Vec::new()));
            span.end();
        },
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "spanflow, added under its context attached by hand",
        1,
        || {
            let mut span = spanflow::span!("f");
            if let Some(context) = span.context() {
                let _attached = context.clone().attach();
                spanflow::current::add_event("step", Vec::new());
            }
            span.end();
        },
        drain_spanflow,
    );
    bench_drained(
        &mut group,
        "otel sdk in_span, added to the active span",
        1,
        || {
            anchors.sdk_tracer.in_span("f", |_| {
                opentelemetry::trace::get_active_span(|span| span.add_event("step", Vec::new()));
            })
        },
        drain_sdk,
    );
    let span_events = tracing::Dispatch::new(
        tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new()),
    );
    tracing::dispatcher::with_default(&span_events, || {
        bench_drained(
            &mut group,
            "spanflow #[trace], tracing::info! through SpanEventLayer",
            1,
            spanflow_logged,
            drain_spanflow,
        );
        bench_drained(
            &mut group,
            "tracing::info! outside any span, through SpanEventLayer",
            1,
            || tracing::info!("step"),
            || {},
        );
    });
    bench_drained(
        &mut group,
        "tracing-opentelemetry #[instrument], tracing::info!",
        1,
        tracing_logged,
        drain_sdk,
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = sampled_span, root_with_ten_children, unsampled, with_attributes, under_tracestate, async_repolls, event_on_the_current_span
}
criterion_main!(benches);
