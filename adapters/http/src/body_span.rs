//! What the server layers' response futures and bodies share: a request's
//! SERVER span entered while they are polled, and ended when the body is
//! done.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::task::Poll;

use spanflow::Span;

use crate::attributes::record_failure;

/// Runs one poll with `span` entered (current, and taking what is added to
/// the current span), if it is still open. A poll that panics (a handler's
/// bug) ends the span failed, with the panic's message, before the panic
/// goes on: the server's task is torn down and nothing else would say why
/// the request went unanswered.
pub(crate) fn poll_in_span<T>(span: Option<&mut Span>, poll: impl FnOnce() -> Poll<T>) -> Poll<T> {
    let Some(span) = span else {
        return poll();
    };
    match catch_unwind(AssertUnwindSafe(|| span.in_scope(poll))) {
        Ok(polled) => polled,
        Err(payload) => {
            span.record_error("panic", panic_message(&*payload));
            span.end();
            resume_unwind(payload)
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Ends `span` once the body is done: at its end, at a failure (status
/// Error, `error.type` the body's error type), or at the piece `last` says
/// is the last.
pub(crate) fn end_when_done<T, E>(
    span: &mut Option<Span>,
    polled: Option<&Result<T, E>>,
    last: impl FnOnce(&T) -> bool,
) {
    let done = match polled {
        Some(Ok(piece)) => last(piece),
        Some(Err(_)) => {
            if let Some(span) = span.as_mut() {
                record_failure(span, std::any::type_name::<E>());
            }
            true
        }
        None => true,
    };
    if done && let Some(mut span) = span.take() {
        span.end();
    }
}
