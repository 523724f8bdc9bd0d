//! The message envelope: a message with its sender's context.

use std::fmt;

use actix::Message;
use opentelemetry::Context;

/// A message travelling with the context of the code that sent it and the
/// instant it was enqueued.
///
/// `Traced<M>` answers like `M` (`type Result = M::Result`), so an actor that
/// handles `M` handles `Traced<M>` through the handler that
/// [`#[traced_handler]`](crate::traced_handler) generates. Senders rarely
/// build one by hand: [`TracedSend`](crate::TracedSend) does.
pub struct Traced<M> {
    pub(crate) message: M,
    pub(crate) context: Context,
    pub(crate) enqueued: quanta::Instant,
}

impl<M> Traced<M> {
    /// Wraps `message` with the current context.
    pub fn new(message: M) -> Self {
        Traced::with_context(message, Context::current())
    }

    /// Wraps `message` with a given context.
    pub fn with_context(message: M, context: Context) -> Self {
        Traced {
            message,
            context,
            enqueued: quanta::Instant::now(),
        }
    }

    /// The message, without its context.
    pub fn into_inner(self) -> M {
        self.message
    }

    /// The sender's context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

impl<M: Message> Message for Traced<M>
where
    M::Result: 'static,
{
    type Result = M::Result;
}

impl<M: fmt::Debug> fmt::Debug for Traced<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("message", &self.message)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}
