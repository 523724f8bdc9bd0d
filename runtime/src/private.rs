//! The support API that `#[trace]` and spanflow's macros expand to.
//!
//! Not public API: names here may change in any release. Keeping expansions
//! down to calls into this module means the macro never names
//! `opentelemetry` types and the runtime can change behind it.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use opentelemetry::{Context, KeyValue, Value};

pub use crate::callsite::{CallSite, Kind, Naming};
pub use crate::context::{LinkTarget, ParentContext};
pub use crate::future::{NoHook, Traced};
pub use crate::span::Span;
pub use crate::value::{AttributeValue, debug_value, display_value};

use crate::attributes;
use crate::clock;
use crate::task::take_spawn_instant;

/// A span under the current context.
#[inline]
pub fn start(callsite: &'static CallSite, self_type: Option<fn() -> &'static str>) -> Span {
    Span::start_under_current(callsite, self_type)
}

/// A span under an explicitly given parent.
#[inline]
pub fn start_with_parent(
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
    parent: impl ParentContext,
) -> Span {
    Span::start_under(callsite, self_type, parent.into_parent())
}

/// The root span of a new trace, linked to the current span.
#[inline]
pub fn start_root(callsite: &'static CallSite, self_type: Option<fn() -> &'static str>) -> Span {
    Span::start_root(callsite, self_type)
}

/// Records one `fields(...)` / `args(...)` entry.
#[inline]
pub fn field(span: &mut Span, key: &'static str, value: Value) {
    span.set_attribute(KeyValue::new(key, value));
}

/// A string literal field value (`fields(key = "literal")`), kept static
/// instead of copied into each span.
#[inline]
pub fn static_str(value: &'static str) -> Value {
    Value::String(value.into())
}

/// A typed field value (`fields(key = expr)`).
#[inline]
pub fn typed_value<T: AttributeValue + ?Sized>(value: &T) -> Value {
    value.to_value()
}

/// `link = expr`.
pub fn link(span: &mut Span, target: impl LinkTarget) {
    span.add_link(target.link_span_context());
}

/// `links = expr`.
pub fn links<I>(span: &mut Span, targets: I)
where
    I: IntoIterator,
    I::Item: LinkTarget,
{
    for target in targets {
        span.add_link(target.link_span_context());
    }
}

/// Runs a sync fn body inside `span`: the span's context is current during
/// `body`, the span ends when it returns or unwinds, and a panic is recorded
/// and then resumed unchanged.
#[inline]
pub fn run_sync<R>(span: Span, body: impl FnOnce() -> R) -> R {
    run_sync_with(span, body, |_, _| {})
}

/// [`run_sync`] with a hook that sees the return value (`err`, `ret`).
#[inline]
pub fn run_sync_with<R, H>(mut span: Span, body: impl FnOnce() -> R, hook: H) -> R
where
    H: FnOnce(&mut Span, &R),
{
    if span.is_none() {
        // Nothing to end or free; skipping the drop glue keeps a child of an
        // unsampled parent inline (it was a fifth of that path's cost).
        std::mem::forget(span);
        return body();
    }
    let Some(context) = span.context_for_scope() else {
        return body();
    };
    if span.is_recording()
        && let Some(spawned_at) = take_spawn_instant()
    {
        record_sync_queued(&mut span, spawned_at);
    }
    let guard = Context::attach(context);
    let entered = span.enter_record();
    let outcome = catch_unwind(AssertUnwindSafe(body));
    span.leave_record(entered);
    drop(guard);
    match outcome {
        Ok(value) => {
            // A span that records nothing (a dropped root) has no end to
            // time: reading the clock anyway was a seventh of its cost.
            if span.is_recording() {
                hook(&mut span, &value);
                span.end();
            }
            value
        }
        Err(payload) => {
            span.record_panic(&*payload);
            span.end();
            resume_unwind(payload)
        }
    }
}

#[cold]
fn record_sync_queued(span: &mut Span, spawned_at: clock::Ticks) {
    let queued = clock::nanos_between(spawned_at, clock::now());
    span.set_attribute(KeyValue::new(
        attributes::QUEUED_NS,
        i64::try_from(queued).unwrap_or(i64::MAX),
    ));
}

/// Runs a future inside `span` (async fns and fns returning `impl Future`).
#[inline]
pub fn instrument<F: Future>(span: Span, future: F) -> Traced<F> {
    Traced::new(future, span)
}

/// [`instrument`] with a hook that sees the output (`err`, `ret`).
#[inline]
pub fn instrument_with<F, H>(span: Span, future: F, hook: H) -> Traced<F, H>
where
    F: Future,
    H: FnOnce(&mut Span, &F::Output),
{
    Traced::with_hook(future, span, hook)
}

/// `err`: an `Err` sets status Error with the error's `Display` text and adds
/// an `exception` event.
pub fn record_err_display<T, E: Display>(span: &mut Span, result: &Result<T, E>) {
    if let Err(error) = result {
        span.record_error(std::any::type_name::<E>(), error.to_string());
    }
}

/// `err(Debug)`: as `err`, with the error's `Debug` text.
pub fn record_err_debug<T, E: Debug>(span: &mut Span, result: &Result<T, E>) {
    if let Err(error) = result {
        span.record_error(std::any::type_name::<E>(), format!("{error:?}"));
    }
}

/// `ret`: the return value's `Debug` text as `spanflow.return`.
pub fn record_ret_debug<T: Debug + ?Sized>(span: &mut Span, value: &T) {
    span.set_attribute(KeyValue::new(attributes::RETURN, debug_value(value)));
}

/// `ret(Display)`: the return value's `Display` text as `spanflow.return`.
pub fn record_ret_display<T: Display + ?Sized>(span: &mut Span, value: &T) {
    span.set_attribute(KeyValue::new(attributes::RETURN, display_value(value)));
}

/// `type_name::<Self>()` for method names, as a fn pointer the runtime calls
/// only when recording.
#[inline]
pub fn self_type<T: ?Sized>() -> Option<fn() -> &'static str> {
    Some(std::any::type_name::<T>)
}
