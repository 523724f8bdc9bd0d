//! The support API `#[traced_handler]` expands to. Not public API.

use std::future::Future;
use std::pin::Pin;

pub use actix::MessageResult;
use opentelemetry::KeyValue;
pub use spanflow::__private::{CallSite, Kind, Naming};
use spanflow::{Span, TracedExt};

use crate::actor_future::{AtomicResponse, TracedActorFuture};
use crate::attributes::MAILBOX_NS;
use crate::envelope::Traced;

/// Opens the handler's span under the sender's context, with the mailbox
/// time; returns the message and the span.
pub fn begin<M>(traced: Traced<M>, callsite: &'static CallSite) -> (M, Span) {
    let Traced {
        message,
        context,
        enqueued,
    } = traced;
    let mut span = Span::with_parent(callsite, context);
    if span.is_recording() {
        let waited = quanta::Instant::now().saturating_duration_since(enqueued);
        span.set_attribute(KeyValue::new(
            MAILBOX_NS,
            i64::try_from(waited.as_nanos()).unwrap_or(i64::MAX),
        ));
    }
    (message, span)
}

/// A handler returning a value: the span is current while it runs and ends
/// with it (also on panic).
pub fn finish_value<R>(span: Span, handle: impl FnOnce() -> R) -> R {
    spanflow::__private::run_sync(span, handle)
}

/// A handler returning `MessageResult<M>`, re-wrapped for `Traced<M>`.
pub fn finish_message_result<M>(
    span: Span,
    handle: impl FnOnce() -> MessageResult<M>,
) -> MessageResult<Traced<M>>
where
    M: actix::Message,
    M::Result: 'static,
{
    let MessageResult(value) = finish_value(span, handle);
    MessageResult(value)
}

/// A handler returning a `ResponseActFuture`: the span is current (entered:
/// what the handler adds to the current span lands on it) while the handler
/// makes the future and on every poll of it.
pub fn finish_act_future<A: actix::Actor + 'static, T: 'static>(
    mut span: Span,
    handle: impl FnOnce() -> actix::ResponseActFuture<A, T>,
) -> actix::ResponseActFuture<A, T> {
    let future = span.in_scope(handle);
    Box::pin(TracedActorFuture::new(future, span))
}

/// A handler returning spanflow-actix's `AtomicResponse`, likewise.
pub fn finish_atomic<A: actix::Actor + 'static, T: 'static>(
    mut span: Span,
    handle: impl FnOnce() -> AtomicResponse<A, T>,
) -> AtomicResponse<A, T> {
    let future = span.in_scope(handle);
    AtomicResponse(Box::pin(TracedActorFuture::new(future.0, span)))
}

/// A handler returning a `ResponseFuture`: the future runs as its own task,
/// so the span goes with it, current on every poll, ending when it does.
pub fn finish_future<T: 'static>(
    mut span: Span,
    handle: impl FnOnce() -> Pin<Box<dyn Future<Output = T>>>,
) -> Pin<Box<dyn Future<Output = T>>> {
    let future = span.in_scope(handle);
    Box::pin(future.in_span(span))
}
