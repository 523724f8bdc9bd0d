//! `#[trace]` on every supported fn shape.

mod common;

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use common::*;
use opentelemetry::Value;
use opentelemetry::trace::TraceId;
use spanflow::trace;

struct Inventory {
    stock: u32,
}

impl Inventory {
    #[trace]
    fn new() -> Self {
        Inventory { stock: 3 }
    }

    #[trace]
    fn by_ref(&self) -> TraceId {
        current_trace_id()
    }

    #[trace]
    fn by_mut(&mut self) -> TraceId {
        self.stock -= 1;
        current_trace_id()
    }

    #[trace]
    fn by_value(self) -> (u32, TraceId) {
        (self.stock, current_trace_id())
    }

    #[trace]
    async fn by_pin(self: Pin<&mut Self>) -> TraceId {
        current_trace_id()
    }

    #[trace(name = "inventory.custom")]
    fn named(&self) -> TraceId {
        current_trace_id()
    }
}

#[tokio::test]
async fn methods_are_named_by_their_self_type() {
    setup();
    let mut inventory = Inventory::new();
    for (trace, name) in [
        (inventory.by_ref(), "Inventory::by_ref"),
        (inventory.by_mut(), "Inventory::by_mut"),
        (inventory.named(), "inventory.custom"),
        (Pin::new(&mut inventory).by_pin().await, "Inventory::by_pin"),
    ] {
        let spans = spans_of(trace);
        let span = one(&spans, name);
        assert_eq!(
            attribute(span, "code.function.name"),
            Some(&Value::from(format!(
                "shapes::Inventory::{}",
                name.rsplit("::")
                    .next()
                    .unwrap()
                    .replace("inventory.custom", "named")
            )))
        );
    }
    let (stock, trace) = inventory.by_value();
    assert_eq!(stock, 2);
    one(&spans_of(trace), "Inventory::by_value");
}

struct Cache<T>(T);

impl<T: Clone + Send> Cache<T> {
    #[trace]
    fn get(&self) -> (T, TraceId) {
        (self.0.clone(), current_trace_id())
    }
}

#[test]
fn generic_self_types_drop_their_parameters() {
    setup();
    let (_, trace) = Cache(1u8).get();
    one(&spans_of(trace), "Cache::get");
    let (_, trace) = Cache("s".to_owned()).get();
    one(&spans_of(trace), "Cache::get");
}

#[trace(args(label))]
fn generic<T, U: std::fmt::Debug>(
    value: T,
    label: impl AsRef<str> + std::fmt::Debug,
    _other: U,
) -> (T, TraceId)
where
    T: Clone,
{
    let _ = label.as_ref();
    (value, current_trace_id())
}

#[test]
fn generics_where_clauses_and_impl_trait_arguments() {
    setup();
    let (value, trace) = generic(5u8, "label", ());
    assert_eq!(value, 5);
    let spans = spans_of(trace);
    let span = one(&spans, "generic");
    // An `impl Trait` argument records through Debug, even when it is a string.
    assert_eq!(attribute(span, "label"), Some(&Value::from("\"label\"")));
}

#[trace]
fn returns_future(x: u8) -> impl Future<Output = (u8, TraceId)> {
    // Runs at call time, outside the span: only the returned future is traced.
    let doubled = x * 2;
    async move {
        tokio::task::yield_now().await;
        (doubled, current_trace_id())
    }
}

#[tokio::test]
async fn a_returned_impl_future_is_traced() {
    setup();
    let future = returns_future(4);
    let (value, trace) = future.await;
    assert_eq!(value, 8);
    let spans = spans_of(trace);
    let span = one(&spans, "returns_future");
    assert!(int_attribute(span, "spanflow.polls") >= 2);
}

#[trace]
unsafe fn raw_read(pointer: *const u8) -> (u8, TraceId) {
    // SAFETY: the caller passes a pointer to a live u8.
    (unsafe { *pointer }, current_trace_id())
}

#[test]
fn unsafe_fn() {
    setup();
    let value = 9u8;
    // SAFETY: `value` is alive for the call.
    let (read, trace) = unsafe { raw_read(&value) };
    assert_eq!(read, 9);
    one(&spans_of(trace), "raw_read");
}

/// With `#[async_trait]`, the impl's attribute expands first and turns each
/// method into `fn .. -> Pin<Box<dyn Future>>` ending in
/// `Box::pin(async move { .. })`; `#[trace]` recognises that body and traces
/// the async block, on impl methods and on trait default methods alike.
#[async_trait]
trait Store {
    async fn save(&self, key: u32) -> TraceId;

    #[trace]
    async fn default_method(&self) -> TraceId {
        tokio::task::yield_now().await;
        current_trace_id()
    }
}

struct Db;

#[async_trait]
impl Store for Db {
    #[trace(args(key))]
    async fn save(&self, key: u32) -> TraceId {
        tokio::task::yield_now().await;
        assert_eq!(key, 11);
        current_trace_id()
    }
}

#[tokio::test]
async fn async_trait_methods_are_traced_inside_the_boxed_future() {
    setup();
    let store: &(dyn Store + Sync) = &Db;
    let trace = store.save(11).await;
    let spans = spans_of(trace);
    let span = one(&spans, "Db::save");
    assert_eq!(attribute(span, "key"), Some(&Value::I64(11)));
    // The span covers the work (two polls), not the boxing (which has none).
    assert!(int_attribute(span, "spanflow.polls") >= 2);

    let trace = store.default_method().await;
    let spans = spans_of(trace);
    assert!(int_attribute(one(&spans, "Db::default_method"), "spanflow.polls") >= 2);
}

#[trace]
fn r#match() -> TraceId {
    current_trace_id()
}

#[test]
fn raw_identifiers_name_the_span_without_prefix() {
    setup();
    one(&spans_of(r#match()), "match");
}
