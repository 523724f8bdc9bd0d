//! The response body of [`ActixTrace`](crate::ActixTrace): the request's
//! SERVER span lasts until the body has been sent.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use pin_project_lite::pin_project;
use spanflow::Span;

use crate::body_span::{end_when_done, poll_in_span};

pin_project! {
    /// A response body that keeps its request's SERVER span open until the
    /// body is done, and makes the span current while the body is polled,
    /// as [`TracedBody`](crate::TracedBody) does for tower.
    ///
    /// The span ends when the last bytes are handed over (before they are
    /// written), when the body fails (status Error, `error.type` the body's
    /// error type), or when the body is dropped unfinished (the client went
    /// away).
    pub struct ActixTracedBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
        // Bytes still to come of a body of known size.
        remaining: Option<u64>,
    }
}

impl<B: MessageBody> ActixTracedBody<B> {
    /// `inner`, ending `span` with it; an empty body ends it at once, as
    /// actix-web does not poll one.
    pub(crate) fn new(inner: B, mut span: Span) -> Self {
        let remaining = match inner.size() {
            BodySize::None | BodySize::Sized(0) => {
                span.end();
                return ActixTracedBody {
                    inner,
                    span: None,
                    remaining: None,
                };
            }
            BodySize::Sized(size) => Some(size),
            BodySize::Stream => None,
        };
        ActixTracedBody {
            inner,
            span: Some(span),
            remaining,
        }
    }
}

impl<B: MessageBody> MessageBody for ActixTracedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let mut this = self.project();
        let item = std::task::ready!(poll_in_span(this.span.as_mut(), || {
            this.inner.as_mut().poll_next(cx)
        }));
        let remaining = this.remaining;
        end_when_done(this.span, item.as_ref(), |bytes| {
            remaining.as_mut().is_some_and(|remaining| {
                *remaining = remaining.saturating_sub(bytes.len() as u64);
                *remaining == 0
            })
        });
        Poll::Ready(item)
    }

    fn try_into_bytes(self) -> Result<Bytes, Self> {
        let ActixTracedBody {
            inner,
            span,
            remaining,
        } = self;
        match inner.try_into_bytes() {
            Ok(bytes) => {
                if let Some(mut span) = span {
                    span.end();
                }
                Ok(bytes)
            }
            Err(inner) => Err(ActixTracedBody {
                inner,
                span,
                remaining,
            }),
        }
    }
}
