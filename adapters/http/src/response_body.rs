//! The response body of a [`TraceService`](crate::TraceService): the
//! request's SERVER span lasts until the body has been sent.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use spanflow::Span;

use crate::body_span::{end_when_done, poll_in_span};

pin_project! {
    /// A response body that keeps its request's SERVER span open until the
    /// body is done, and makes the span current while the body is polled:
    /// a streamed body's work belongs to the request, and its time to the
    /// request's duration.
    ///
    /// The span ends when the last frame is handed over (before it is
    /// written, so a client never has a whole response whose span is still
    /// open), when the body fails (status Error, `error.type` the body's
    /// error type), or when the body is dropped unfinished (the client went
    /// away).
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
    }
}

impl<B: Body> TracedBody<B> {
    /// `inner`, ending `span` with it; a body already at its end ends the
    /// span at once.
    pub(crate) fn new(inner: B, mut span: Span) -> Self {
        let span = if inner.is_end_stream() {
            span.end();
            None
        } else {
            Some(span)
        };
        TracedBody { inner, span }
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(poll_in_span(this.span.as_mut(), || {
            this.inner.as_mut().poll_frame(cx)
        }));
        let inner = this.inner;
        end_when_done(this.span, frame.as_ref(), |_| inner.is_end_stream());
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
