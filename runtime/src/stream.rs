//! Streams whose span is current on every `poll_next`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
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
    /// while producing an item parents to it, and what is added to the
    /// current span meanwhile (log lines through spanflow's bridges,
    /// [`current::add_event`](crate::current::add_event)) lands on it. It
    /// ends when the stream returns `None`, when a poll panics (status
    /// Error, then the panic goes on), or when the stream is dropped first
    /// (marked `spanflow.cancelled`). With
    /// [`TracedStream::with_item_spans`], each item gets a child span
    /// covering the polls that produced it, which is then the current one.
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
        let stream_guard = this.span.context().cloned().map(Context::attach);
        let stream_entered = this.span.enter_record();
        if this.item_span.is_none()
            && let Some(callsite) = *this.item_callsite
        {
            *this.item_span = Some(Span::start_under_current(callsite, None));
        }
        let item_guard = this
            .item_span
            .as_ref()
            .and_then(Span::context)
            .cloned()
            .map(Context::attach);
        let item_entered = this.item_span.as_ref().and_then(Span::enter_record);
        let inner = this.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll_next(cx)));
        if let Some(item) = this.item_span.as_mut() {
            item.leave_record(item_entered);
        }
        drop(item_guard);
        this.span.leave_record(stream_entered);
        drop(stream_guard);
        let polled = match polled {
            Ok(polled) => polled,
            Err(payload) => {
                // The item being made and the stream both failed.
                if let Some(mut item) = this.item_span.take() {
                    item.record_panic(&*payload);
                    item.end();
                }
                *this.finished = true;
                this.span.record_panic(&*payload);
                this.span.end();
                resume_unwind(payload)
            }
        };
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
