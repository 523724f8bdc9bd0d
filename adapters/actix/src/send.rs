//! Sending with the context attached.

use std::future::Future;

use actix::dev::SendError;
use actix::{MailboxError, Message};
use opentelemetry::Context;
use opentelemetry::trace::Status;
use spanflow::Span;

use crate::envelope::Traced;
use crate::send_callsite::send_callsite;

/// `send`, `do_send` and `try_send` that carry the caller's context (span
/// and baggage) and the enqueue instant with the message; implemented for
/// `Addr<A>` (where `A` handles `Traced<M>`) and `Recipient<Traced<M>>`.
///
/// Each opens a PRODUCER span named `{Message} send` whose context travels
/// in a [`Traced`] envelope, so the handler's span is its child. For
/// `send_traced` the span lasts until the reply arrives: its duration is the
/// caller's wait. Errors come back exactly as without tracing
/// (`MailboxError`, `SendError::Full` / `Closed` with your message inside),
/// and end the span with status Error.
pub trait TracedSend<M: Message> {
    /// `send`, traced.
    fn send_traced(
        &self,
        message: M,
    ) -> impl Future<Output = Result<M::Result, MailboxError>> + 'static;

    /// `do_send`, traced: queued unconditionally, errors ignored, as actix does.
    fn do_send_traced(&self, message: M);

    /// `try_send`, traced.
    fn try_send_traced(&self, message: M) -> Result<(), SendError<M>>;
}

/// What `Addr<A>` and `Recipient<Traced<M>>` have in common: a mailbox
/// that takes `Traced<M>`. Sealed: the two are the only implementations.
mod sealed {
    use actix::dev::{RecipientRequest, Request, SendError, ToEnvelope};
    use actix::{Actor, Addr, Handler, Message, Recipient};

    use crate::envelope::Traced;

    pub trait Mailbox<M: Message + Send + 'static>
    where
        M::Result: Send,
    {
        type Request: std::future::Future<Output = Result<M::Result, actix::MailboxError>> + 'static;
        fn send(&self, message: Traced<M>) -> Self::Request;
        fn do_send(&self, message: Traced<M>);
        fn try_send(&self, message: Traced<M>) -> Result<(), SendError<Traced<M>>>;
    }

    impl<A, M> Mailbox<M> for Addr<A>
    where
        A: Actor + Handler<Traced<M>>,
        A::Context: ToEnvelope<A, Traced<M>>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        type Request = Request<A, Traced<M>>;

        fn send(&self, message: Traced<M>) -> Self::Request {
            Addr::send(self, message)
        }

        fn do_send(&self, message: Traced<M>) {
            Addr::do_send(self, message);
        }

        fn try_send(&self, message: Traced<M>) -> Result<(), SendError<Traced<M>>> {
            Addr::try_send(self, message)
        }
    }

    impl<M> Mailbox<M> for Recipient<Traced<M>>
    where
        M: Message + Send + 'static,
        M::Result: Send,
    {
        type Request = RecipientRequest<Traced<M>>;

        fn send(&self, message: Traced<M>) -> Self::Request {
            Recipient::send(self, message)
        }

        fn do_send(&self, message: Traced<M>) {
            Recipient::do_send(self, message);
        }

        fn try_send(&self, message: Traced<M>) -> Result<(), SendError<Traced<M>>> {
            Recipient::try_send(self, message)
        }
    }
}

impl<M, T> TracedSend<M> for T
where
    T: sealed::Mailbox<M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn send_traced(
        &self,
        message: M,
    ) -> impl Future<Output = Result<M::Result, MailboxError>> + 'static {
        let (span, context) = send_span::<M>();
        let request = self.send(Traced::with_context(message, context.clone()));
        await_reply(span, context, request)
    }

    fn do_send_traced(&self, message: M) {
        let (mut span, context) = send_span::<M>();
        self.do_send(Traced::with_context(message, context));
        span.end();
    }

    fn try_send_traced(&self, message: M) -> Result<(), SendError<M>> {
        let (span, context) = send_span::<M>();
        sent(span, self.try_send(Traced::with_context(message, context)))
    }
}

fn send_span<M: 'static>() -> (Span, Context) {
    let span = Span::new(send_callsite::<M>());
    let context = span.context().cloned().unwrap_or_else(Context::current);
    (span, context)
}

async fn await_reply<T>(
    mut span: Span,
    context: Context,
    request: impl Future<Output = Result<T, MailboxError>>,
) -> Result<T, MailboxError> {
    let reply = spanflow::in_context(context, request).await;
    if let Err(error) = &reply {
        span.set_status(Status::error(error.to_string()));
    }
    span.end();
    reply
}

/// Ends a `try_send`'s span and gives the caller back their message on error.
fn sent<M>(mut span: Span, result: Result<(), SendError<Traced<M>>>) -> Result<(), SendError<M>> {
    let result = result.map_err(|error| match error {
        SendError::Full(traced) => SendError::Full(traced.message),
        SendError::Closed(traced) => SendError::Closed(traced.message),
    });
    if let Err(error) = &result {
        let reason = match error {
            SendError::Full(_) => "mailbox full",
            SendError::Closed(_) => "mailbox closed",
        };
        span.set_status(Status::error(reason));
    }
    span.end();
    result
}

/// `shop::orders::Reserve` becomes `Reserve` (generic arguments kept).
pub(crate) fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    let path_end = name.find('<').unwrap_or(name.len());
    let start = name[..path_end].rfind("::").map_or(0, |at| at + 2);
    &name[start..]
}
