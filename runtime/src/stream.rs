//! Streams whose span is current on every `poll_next`.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use opentelemetry::Context;
use pin_project_lite::pin_project;

use crate::callsite::CallSite;
use crate::span::Span;

pin_project! {
    /// A stream inside one span, optionally with a child span per item.
    ///
    /// The stream's span is current during every `poll_next`, so work done
    /// while producing an item parents to it. It ends when the stream returns
    /// `None`, or when the stream is dropped first (marked
    /// `spanflow.cancelled`). With [`TracedStream::with_item_spans`], each
    /// item gets a child span covering the polls that produced it.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use spanflow::TracedStream;
    /// # futures::executor::block_on(async {
    /// let lines = futures::stream::iter(["a", "b"]);
    /// let traced = TracedStream::new(lines, spanflow::span!("read_lines"))
    ///     .with_item_spans(spanflow::callsite!("read_line"));
    /// assert_eq!(traced.collect::<Vec<_>>().await, ["a", "b"]);
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct TracedStream<S> {
        #[pin]
        inner: S,
        span: Span,
        item_callsite: Option<&'static CallSite>,
        item_span: Option<Span>,
        finished: bool,
    }

    impl<S> PinnedDrop for TracedStream<S> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.finished {
                if let Some(mut item) = this.item_span.take() {
                    item.mark_cancelled();
                }
                this.span.mark_cancelled();
                this.span.end();
            }
        }
    }
}

impl<S: Stream> TracedStream<S> {
    /// Runs `stream` inside `span`.
    pub fn new(stream: S, span: Span) -> Self {
        TracedStream {
            inner: stream,
            span,
            item_callsite: None,
            item_span: None,
            finished: false,
        }
    }

    /// Also opens a child span (made from `callsite`, see
    /// [`callsite!`](crate::callsite!)) for each item, from the first poll
    /// that works on it to the poll that yields it.
    pub fn with_item_spans(mut self, callsite: &'static CallSite) -> Self {
        self.item_callsite = Some(callsite);
        self
    }
}

impl<S: Stream> Stream for TracedStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.finished {
            return this.inner.poll_next(cx);
        }
        let _stream_guard = this.span.context().cloned().map(Context::attach);
        if this.item_span.is_none()
            && let Some(callsite) = *this.item_callsite
        {
            *this.item_span = Some(Span::start_under_current(callsite, None));
        }
        let _item_guard = this
            .item_span
            .as_ref()
            .and_then(Span::context)
            .cloned()
            .map(Context::attach);
        let polled = this.inner.poll_next(cx);
        drop(_item_guard);
        match &polled {
            Poll::Pending => {}
            Poll::Ready(Some(_)) => {
                // Dropping ends it, without a clock read when it records
                // nothing.
                drop(this.item_span.take());
            }
            Poll::Ready(None) => {
                // A span opened for an item that never came is not an item.
                if let Some(item) = this.item_span.take() {
                    item.discard();
                }
                *this.finished = true;
                this.span.end();
            }
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
