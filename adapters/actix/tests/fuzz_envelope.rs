//! Property test of the actor envelope: whatever context a `Traced<M>`
//! carries (any ids, flags, trace state, remote or local, valid or not),
//! the handler runs without panic, in a span of that trace when the
//! context is sampled, continuing it unsampled when it is not, and in a new
//! trace when it is invalid.

use std::sync::OnceLock;

use actix::prelude::*;
use opentelemetry::Context as OtelContext;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use proptest::prelude::*;
use spanflow::PipelineGuard;
use spanflow_actix::{Traced, traced_handler};

#[derive(Message)]
#[rtype(result = "(TraceId, bool)")]
struct Probe;

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Probe> for Echo {
    type Result = MessageResult<Probe>;
    fn handle(&mut self, _: Probe, _: &mut Context<Self>) -> Self::Result {
        let context = OtelContext::current();
        let span = context.span();
        MessageResult((
            span.span_context().trace_id(),
            span.span_context().is_sampled(),
        ))
    }
}

fn installed() -> &'static (InMemorySpanExporter, PipelineGuard) {
    static INSTALLED: OnceLock<(InMemorySpanExporter, PipelineGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .install()
            .expect("the only pipeline of this binary");
        (exporter, pipeline)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_carried_context_is_handled(
        trace in prop_oneof![Just(0u128), any::<u128>()],
        span in prop_oneof![Just(0u64), any::<u64>()],
        flags in any::<u8>(),
        remote in any::<bool>(),
        state in proptest::option::of(("[a-z][a-z0-9]{0,8}", "[!-+--<>-~]{1,12}")),
    ) {
        installed();
        let trace_state = state
            .and_then(|(key, value)| TraceState::from_key_value([(key, value)]).ok())
            .unwrap_or_default();
        let carried = SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::new(flags),
            remote,
            trace_state,
        );
        let context = OtelContext::new().with_remote_span_context(carried.clone());
        let (seen_trace, seen_sampled) = System::new().block_on(async move {
            Echo.start()
                .send(Traced::with_context(Probe, context))
                .await
                .expect("the actor answers")
        });
        if carried.is_valid() {
            prop_assert_eq!(seen_trace, carried.trace_id());
            prop_assert_eq!(seen_sampled, carried.is_sampled());
        } else {
            prop_assert_ne!(seen_trace, TraceId::INVALID, "a new trace");
        }
    }
}
