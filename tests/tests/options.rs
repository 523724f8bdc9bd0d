//! Each `#[trace]` option, asserted on the exported span.

mod common;

use common::*;
use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, Value};
use spanflow::trace;

#[trace(name = "inventory_service.reserve_items", kind = client)]
fn reserve() -> TraceId {
    current_trace_id()
}

#[test]
fn name_and_kind() {
    setup();
    let spans = spans_of(reserve());
    let span = one(&spans, "inventory_service.reserve_items");
    assert_eq!(span.span_kind, SpanKind::Client);
}

#[test]
fn every_kind_maps_to_its_opentelemetry_kind() {
    setup();
    #[trace(kind = server)]
    fn server() -> TraceId {
        producer();
        consumer();
        internal();
        current_trace_id()
    }
    #[trace(kind = producer)]
    fn producer() {}
    #[trace(kind = consumer)]
    fn consumer() {}
    #[trace(kind = internal)]
    fn internal() {}
    let spans = spans_of(server());
    assert_eq!(one(&spans, "server").span_kind, SpanKind::Server);
    assert_eq!(one(&spans, "producer").span_kind, SpanKind::Producer);
    assert_eq!(one(&spans, "consumer").span_kind, SpanKind::Consumer);
    assert_eq!(one(&spans, "internal").span_kind, SpanKind::Internal);
}

#[test]
fn call_site_metadata() {
    setup();
    let spans = spans_of(reserve());
    let span = one(&spans, "inventory_service.reserve_items");
    assert_eq!(
        attribute(span, "code.function.name"),
        Some(&Value::from("options::reserve"))
    );
    assert_eq!(
        attribute(span, "code.file.path"),
        Some(&Value::from(file!()))
    );
    assert_eq!(
        int_attribute(span, "code.line.number"),
        11,
        "the line of `fn reserve`"
    );
}

#[derive(Debug)]
struct Sku(&'static str);

#[trace(args(count, sku, label))]
fn record_args(count: u32, sku: Sku, label: &str) -> TraceId {
    let _ = (count, sku.0, label);
    current_trace_id()
}

#[test]
fn args_are_typed_when_they_can_be_and_debug_otherwise() {
    setup();
    let spans = spans_of(record_args(3, Sku("A-1"), "gift"));
    let span = one(&spans, "record_args");
    assert_eq!(attribute(span, "count"), Some(&Value::I64(3)));
    assert_eq!(attribute(span, "sku"), Some(&Value::from("Sku(\"A-1\")")));
    assert_eq!(attribute(span, "label"), Some(&Value::from("gift")));
}

struct Cart {
    items: Vec<i64>,
    express: bool,
    user: String,
}

#[trace(fields(
    cart.items = cart.items.len(),
    cart.express = cart.express,
    cart.total = cart.items.iter().sum::<i64>() as f64 * 1.5,
    cart.prices = cart.items.clone(),
    "user.id" = %cart.user,
    debug = ?cart.items,
    component = "billing",
))]
fn typed_fields(cart: &Cart) -> TraceId {
    current_trace_id()
}

#[test]
fn fields_are_typed_values() {
    setup();
    let cart = Cart {
        items: vec![2, 4],
        express: true,
        user: "u-7".into(),
    };
    let spans = spans_of(typed_fields(&cart));
    let span = one(&spans, "typed_fields");
    assert_eq!(attribute(span, "cart.items"), Some(&Value::I64(2)));
    assert_eq!(attribute(span, "cart.express"), Some(&Value::Bool(true)));
    assert_eq!(attribute(span, "cart.total"), Some(&Value::F64(9.0)));
    assert_eq!(
        attribute(span, "cart.prices"),
        Some(&Value::Array(vec![2i64, 4].into()))
    );
    assert_eq!(attribute(span, "user.id"), Some(&Value::from("u-7")));
    assert_eq!(attribute(span, "debug"), Some(&Value::from("[2, 4]")));
    assert_eq!(attribute(span, "component"), Some(&Value::from("billing")));
}

#[test]
fn fields_are_not_evaluated_when_the_span_is_not_recording() {
    setup();
    use std::sync::atomic::{AtomicUsize, Ordering};
    static EVALUATED: AtomicUsize = AtomicUsize::new(0);
    fn costly() -> i64 {
        EVALUATED.fetch_add(1, Ordering::SeqCst);
        1
    }
    #[trace(fields(costly = costly()))]
    fn traced() {}

    let unsampled = SpanContext::new(
        TraceId::from(7u128),
        opentelemetry::trace::SpanId::from(7u64),
        opentelemetry::trace::TraceFlags::NOT_SAMPLED,
        true,
        Default::default(),
    );
    let _guard = Context::new().with_remote_span_context(unsampled).attach();
    traced();
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
}

#[derive(Debug)]
struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

#[trace(err)]
fn fails(trace: &mut TraceId) -> Result<u8, OutOfStock> {
    *trace = current_trace_id();
    Err(OutOfStock)
}

#[trace(err(Debug))]
fn fails_debug(trace: &mut TraceId) -> Result<u8, OutOfStock> {
    *trace = current_trace_id();
    Err(OutOfStock)
}

#[trace(err)]
fn succeeds(trace: &mut TraceId) -> Result<u8, OutOfStock> {
    *trace = current_trace_id();
    Ok(1)
}

#[test]
fn err_sets_status_and_an_exception_event() {
    setup();
    let mut trace = TraceId::INVALID;
    assert!(fails(&mut trace).is_err());
    let spans = spans_of(trace);
    let span = one(&spans, "fails");
    assert_eq!(span.status, Status::error("out of stock"));
    let event = &span.events.events[0];
    assert_eq!(event.name, "exception");
    let message = event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.message");
    assert_eq!(
        message.map(|kv| kv.value.clone()),
        Some(Value::from("out of stock"))
    );
    let kind = event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.type");
    assert_eq!(
        kind.map(|kv| kv.value.clone()),
        Some(Value::from("options::OutOfStock"))
    );

    assert!(fails_debug(&mut trace).is_err());
    let spans = spans_of(trace);
    assert_eq!(
        one(&spans, "fails_debug").status,
        Status::error("OutOfStock")
    );

    assert!(succeeds(&mut trace).is_ok());
    let spans = spans_of(trace);
    assert_eq!(one(&spans, "succeeds").status, Status::Unset);
    assert!(one(&spans, "succeeds").events.events.is_empty());
}

#[trace(ret)]
fn answer(trace: &mut TraceId) -> Option<u8> {
    *trace = current_trace_id();
    Some(42)
}

#[trace(ret, err)]
async fn answer_async(trace: &mut TraceId) -> Result<u8, OutOfStock> {
    *trace = current_trace_id();
    Ok(7)
}

#[tokio::test]
async fn ret_records_the_return_value() {
    setup();
    let mut trace = TraceId::INVALID;
    answer(&mut trace);
    let spans = spans_of(trace);
    assert_eq!(
        attribute(one(&spans, "answer"), "spanflow.return"),
        Some(&Value::from("Some(42)"))
    );

    struct Shown(u8);
    impl std::fmt::Display for Shown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "shown {}", self.0)
        }
    }
    #[trace(ret(Display))]
    fn shown(trace: &mut TraceId) -> Shown {
        *trace = current_trace_id();
        Shown(3)
    }
    shown(&mut trace);
    let spans = spans_of(trace);
    assert_eq!(
        attribute(one(&spans, "shown"), "spanflow.return"),
        Some(&Value::from("shown 3"))
    );
}

#[tokio::test]
async fn ret_and_err_together_on_async_fn() {
    setup();
    let mut trace = TraceId::INVALID;
    assert!(matches!(answer_async(&mut trace).await, Ok(7)));
    let spans = spans_of(trace);
    let span = one(&spans, "answer_async");
    assert_eq!(span.status, Status::Unset);
    assert_eq!(
        attribute(span, "spanflow.return"),
        Some(&Value::from("Ok(7)"))
    );
}

#[trace(parent = parent)]
fn with_parent(parent: &SpanContext) -> TraceId {
    current_trace_id()
}

#[trace(root)]
fn new_root() -> TraceId {
    current_trace_id()
}

#[trace]
fn outer_for_root() -> (TraceId, TraceId) {
    (current_trace_id(), new_root())
}

#[test]
fn explicit_parent_and_root() {
    setup();
    let remote = SpanContext::new(
        TraceId::from(0xabcdefu128),
        opentelemetry::trace::SpanId::from(0x1234u64),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let trace = with_parent(&remote);
    assert_eq!(trace, remote.trace_id());
    let spans = spans_of(trace);
    let span = one(&spans, "with_parent");
    assert_eq!(span.parent_span_id, remote.span_id());
    assert!(span.parent_span_is_remote);

    let (outer_trace, root_trace) = outer_for_root();
    assert_ne!(outer_trace, root_trace, "root must start a new trace");
    let outer_spans = spans_of(outer_trace);
    let outer = one(&outer_spans, "outer_for_root");
    let root_spans = spans_of(root_trace);
    let root = one(&root_spans, "new_root");
    assert_root(root);
    assert_eq!(root.links.links.len(), 1);
    assert_eq!(
        root.links.links[0].span_context.span_id(),
        outer.span_context.span_id()
    );
}

#[trace(link = first, links = others.iter())]
fn linked(first: &SpanContext, others: &[SpanContext]) -> TraceId {
    current_trace_id()
}

#[test]
fn link_and_links() {
    setup();
    let context = |n: u64| {
        SpanContext::new(
            TraceId::from(u128::from(n) + 100),
            opentelemetry::trace::SpanId::from(n),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        )
    };
    let trace = linked(&context(1), &[context(2), context(3)]);
    let spans = spans_of(trace);
    let links: Vec<u64> = one(&spans, "linked")
        .links
        .links
        .iter()
        .map(|link| u64::from_be_bytes(link.span_context.span_id().to_bytes()))
        .collect();
    assert_eq!(links, [1, 2, 3]);
}

#[test]
fn parent_accepts_a_context_and_an_option() {
    setup();
    #[trace(parent = cx)]
    fn under(cx: Option<Context>) -> TraceId {
        current_trace_id()
    }
    #[trace]
    fn top() -> (TraceId, TraceId) {
        (current_trace_id(), under(Some(Context::current())))
    }
    let (top_trace, under_trace) = top();
    assert_eq!(top_trace, under_trace);
    let spans = spans_of(top_trace);
    assert_child_of(one(&spans, "under"), one(&spans, "top"));

    let fresh = under(None);
    assert_ne!(fresh, top_trace);
    assert_root(one(&spans_of(fresh), "under"));
}
