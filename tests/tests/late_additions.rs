//! What is added to the current span where a spanflow span's work is not
//! entered (its `Context` attached by hand on another thread, OpenTelemetry's
//! `FutureExt::with_context` in a spawned task) reaches the span through the
//! collector while the span is open, and nothing reaches it after its end.

mod common;

use common::{attribute, one, setup, spans_of};
use opentelemetry::context::FutureExt;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use spanflow::logs::SpanEventLayer;
use spanflow::trace;
use tracing_subscriber::layer::SubscriberExt as _;

fn event_names(span: &SpanData) -> Vec<String> {
    span.events
        .iter()
        .map(|event| event.name.to_string())
        .collect()
}

/// A helper thread, given the span's `Context` by hand, adds to it.
#[trace]
fn hands_its_context_to_a_thread() -> Context {
    let context = Context::current();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _attached = context.clone().attach();
            spanflow::current::add_event("from a helper thread", Vec::new());
            spanflow::current::set_attribute(KeyValue::new("helper.done", true));
            let log_lines = tracing_subscriber::registry().with(SpanEventLayer::new());
            tracing::subscriber::with_default(log_lines, || tracing::warn!("helper slow"));
        });
    });
    context
}

#[test]
fn a_context_attached_by_hand_on_another_thread_takes_additions_until_the_span_ends() {
    setup();
    let kept = hands_its_context_to_a_thread();
    // The span has ended: what is added through its context now is dropped.
    {
        let _attached = kept.clone().attach();
        spanflow::current::add_event("too late", Vec::new());
        spanflow::current::set_attribute(KeyValue::new("too.late", true));
    }
    let trace_id = kept.span().span_context().trace_id();
    let spans = spans_of(trace_id);
    let span = one(&spans, "hands_its_context_to_a_thread");
    assert_eq!(
        event_names(span),
        ["from a helper thread", spanflow::logs::LOG_EVENT],
        "{span:#?}"
    );
    let line = &span.events.events[1];
    assert!(
        line.attributes
            .contains(&KeyValue::new("message", "helper slow"))
    );
    for event in span.events.iter() {
        assert!(
            (span.start_time..=span.end_time).contains(&event.timestamp),
            "timed by the span's clock on another thread, within the span"
        );
    }
    assert_eq!(attribute(span, "helper.done"), Some(&Value::from(true)));
    assert_eq!(attribute(span, "too.late"), None);
}

/// A task spawned with OpenTelemetry's own `with_context`, which makes the
/// context current on each poll without entering the span.
#[trace]
async fn spawns_with_opentelemetrys_with_context() -> TraceId {
    let context = Context::current();
    tokio::spawn(
        async {
            tokio::task::yield_now().await;
            spanflow::current::add_event("in the task", Vec::new());
        }
        .with_context(context.clone()),
    )
    .await
    .expect("the task ran");
    context.span().span_context().trace_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_under_opentelemetrys_with_context_adds_to_the_span() {
    setup();
    let trace_id = spawns_with_opentelemetrys_with_context().await;
    let spans = spans_of(trace_id);
    let span = one(&spans, "spawns_with_opentelemetrys_with_context");
    assert_eq!(event_names(span), ["in the task"], "{span:#?}");
}

#[test]
fn threads_adding_by_hand_at_once_each_reach_their_own_span_and_nothing_after_its_end() {
    setup();
    const THREADS: usize = 4;
    const SPANS: usize = 50;
    const EVENTS: usize = 10;
    let traces: Vec<TraceId> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut traces = Vec::new();
                    for _ in 0..SPANS {
                        let mut span = spanflow::span!("handed_out");
                        let context = span.context().expect("sampled").clone();
                        std::thread::scope(|helpers| {
                            helpers.spawn(|| {
                                let _attached = context.clone().attach();
                                for index in 0..EVENTS {
                                    spanflow::current::add_event(
                                        "by hand",
                                        vec![KeyValue::new("index", index as i64)],
                                    );
                                }
                            });
                        });
                        span.end();
                        let _attached = context.clone().attach();
                        spanflow::current::add_event("too late", Vec::new());
                        traces.push(context.span().span_context().trace_id());
                    }
                    traces
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a worker"))
            .collect()
    });
    assert_eq!(traces.len(), THREADS * SPANS);
    for trace_id in traces {
        let spans = spans_of(trace_id);
        let span = one(&spans, "handed_out");
        let names = event_names(span);
        assert_eq!(names, vec!["by hand"; EVENTS], "{span:#?}");
        let order: Vec<&Value> = span
            .events
            .iter()
            .filter_map(|event| event.attributes.first().map(|attribute| &attribute.value))
            .collect();
        let expected: Vec<Value> = (0..EVENTS as i64).map(Value::from).collect();
        assert_eq!(
            order,
            expected.iter().collect::<Vec<_>>(),
            "in the order added"
        );
    }
}
