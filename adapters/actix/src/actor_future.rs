//! Actor futures (`ResponseActFuture`, `AtomicResponse`) that keep the
//! handler's span current on every poll.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix::dev::{MessageResponse, OneshotSender};
use actix::fut::{ActorFuture, ActorFutureExt};
use actix::{Actor, AsyncContext, Message, ResponseActFuture};
use pin_project_lite::pin_project;
use spanflow::Span;

pin_project! {
    /// An actor future polled with its span entered (current, and taking
    /// what is added to the current span); the span ends when the future
    /// completes (or is dropped).
    pub struct TracedActorFuture<F> {
        #[pin]
        inner: F,
        span: Span,
    }
}

impl<F> TracedActorFuture<F> {
    /// Runs `inner` inside `span`.
    pub fn new(inner: F, span: Span) -> Self {
        TracedActorFuture { inner, span }
    }
}

impl<A: Actor, F: ActorFuture<A>> ActorFuture<A> for TracedActorFuture<F> {
    type Output = F::Output;

    fn poll(
        self: Pin<&mut Self>,
        actor: &mut A,
        ctx: &mut A::Context,
        task: &mut TaskContext<'_>,
    ) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let polled = this.span.in_scope(|| inner.poll(actor, ctx, task));
        if polled.is_ready() {
            this.span.end();
        }
        polled
    }
}

/// actix's `AtomicResponse` (the actor runs nothing else until the future
/// completes), with its future reachable so that
/// [`#[traced_handler]`](crate::traced_handler) can trace it: use this type
/// in place of `actix::AtomicResponse`; it behaves the same for untraced
/// messages.
pub struct AtomicResponse<A, T>(pub(crate) ResponseActFuture<A, T>);

impl<A, T> AtomicResponse<A, T> {
    /// Wraps the actor future, as `actix::AtomicResponse::new` does.
    pub fn new(future: ResponseActFuture<A, T>) -> Self {
        AtomicResponse(future)
    }
}

impl<A, M> MessageResponse<A, M> for AtomicResponse<A, M::Result>
where
    A: Actor,
    M: Message,
    A::Context: AsyncContext<A>,
{
    fn handle(self, ctx: &mut A::Context, tx: Option<OneshotSender<M::Result>>) {
        ctx.wait(self.0.map(|result, _, _| {
            if let Some(tx) = tx {
                let _ = tx.send(result);
            }
        }));
    }
}
