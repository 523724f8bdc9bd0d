//! `Traced<F>`: a future whose span is current on every poll.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use pin_project_lite::pin_project;

use crate::clock::{self, Ticks};
use crate::record::FutureClocks;
use crate::span::Span;
use crate::task::take_spawn_instant;

pin_project! {
    /// A future that makes its span current on every poll and ends the span
    /// exactly once: when the future completes, when it is dropped unfinished
    /// (marked `spanflow.cancelled`), or when a poll panics (status Error with
    /// the panic message; the panic then continues unchanged).
    ///
    /// The span's context is attached only *during* `poll`, so no `!Send`
    /// guard ever lives across an `.await`: `Traced<F>` is `Send` exactly
    /// when `F` is, and `Sync` exactly when `F` is.
    ///
    /// While recording it keeps three clocks, exported as attributes (see
    /// [`attributes`](crate::attributes)): queued (creation, or the
    /// enclosing [`spawn`](crate::spawn), until the first poll), busy (inside
    /// `poll`) and idle (between polls), plus the poll count.
    ///
    /// ```
    /// use spanflow::{Span, TracedExt};
    /// # futures::executor::block_on(async {
    /// let span = spanflow::span!("load_cart");
    /// let items = async { vec!["book"] }.in_span(span).await;
    /// assert_eq!(items, ["book"]);
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Traced<F, H = NoHook> {
        #[pin]
        inner: F,
        span: Span,
        hook: Option<H>,
        clocks: Clocks,
        finished: bool,
    }

    impl<F, H> PinnedDrop for Traced<F, H> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.finished && this.span.is_recording() {
                this.span.mark_cancelled();
                let now = clock::now();
                if this.clocks.enabled {
                    this.span.set_clocks(this.clocks.finish(now), now);
                }
                this.span.end_at(now);
            }
        }
    }
}

/// The clocks of one traced future.
#[derive(Debug)]
struct Clocks {
    enabled: bool,
    created: Option<Ticks>,
    first_poll: Option<Ticks>,
    queued_since: Option<Ticks>,
    /// Raw ticks, scaled to nanoseconds on the collector thread: two clock
    /// reads and an add per poll.
    busy_ticks: u64,
    polls: u64,
}

impl Clocks {
    /// `started` is the span's start reading, when it has one: the future
    /// is made right after its span, and a clock read costs ~10 ns. It also
    /// makes queued + busy + idle add up to the span's duration.
    fn new(enabled: bool, started: Option<Ticks>) -> Self {
        Clocks {
            enabled,
            created: enabled.then(|| started.unwrap_or_else(clock::now)),
            first_poll: None,
            queued_since: None,
            busy_ticks: 0,
            polls: 0,
        }
    }

    /// The clocks as they stand when the span ends at `end`.
    fn finish(&self, end: Ticks) -> FutureClocks {
        let created = self.created.unwrap_or(end);
        FutureClocks {
            queued_from: self
                .queued_since
                .map_or(created, |spawned| spawned.min(created)),
            first_poll: self.first_poll,
            busy_ticks: self.busy_ticks,
            polls: self.polls,
        }
    }
}

/// No completion hook.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

/// Called with the output of a traced future before its span ends; how
/// `#[trace(err, ret)]` records results.
#[doc(hidden)]
pub trait OnReturn<T> {
    fn on_return(self, span: &mut Span, output: &T);
}

impl<T> OnReturn<T> for NoHook {
    #[inline]
    fn on_return(self, _span: &mut Span, _output: &T) {}
}

impl<T, H: FnOnce(&mut Span, &T)> OnReturn<T> for H {
    #[inline]
    fn on_return(self, span: &mut Span, output: &T) {
        self(span, output)
    }
}

impl<F: Future> Traced<F> {
    /// Wraps `future` so that `span` is current on each poll and ends with it.
    pub fn new(future: F, span: Span) -> Self {
        Traced::with_hook(future, span, NoHook)
    }
}

impl<F: Future, H: OnReturn<F::Output>> Traced<F, H> {
    #[doc(hidden)]
    pub fn with_hook(future: F, span: Span, hook: H) -> Self {
        let clocks = Clocks::new(span.is_recording(), span.start_ticks());
        Traced {
            inner: future,
            span,
            hook: Some(hook),
            clocks,
            finished: false,
        }
    }

    /// Stops measuring busy / idle / queued time: two clock reads fewer per
    /// poll, for futures polled very often.
    pub fn without_clocks(mut self) -> Self {
        self.clocks.enabled = false;
        self
    }

    /// The span this future runs in.
    pub fn span(&self) -> &Span {
        &self.span
    }
}

impl<F: Future, H: OnReturn<F::Output>> Future for Traced<F, H> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(context) = this.span.context() else {
            // Nothing to make current and nothing recorded: stay out of the way.
            return this.inner.poll(cx);
        };
        let clocks = this.clocks;
        let poll_start = if clocks.enabled {
            let now = clock::now();
            if clocks.first_poll.is_none() {
                clocks.first_poll = Some(now);
                clocks.queued_since = take_spawn_instant();
            }
            now
        } else {
            0
        };

        let guard = Context::attach(context.clone());
        let entered = this.span.enter_record();
        let inner = this.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        this.span.leave_record(entered);
        drop(guard);

        // The poll's end reading doubles as the span's end when it finished.
        let poll_end = if clocks.enabled {
            let now = clock::now();
            clocks.busy_ticks += now.saturating_sub(poll_start);
            Some(now)
        } else {
            None
        };
        clocks.polls += 1;

        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                *this.finished = true;
                // A span that records nothing (a context carried across a
                // boundary, a dropped root) has no end to time.
                if this.span.is_recording() {
                    let end = poll_end.unwrap_or_else(clock::now);
                    if let Some(hook) = this.hook.take() {
                        hook.on_return(this.span, &output);
                    }
                    if clocks.enabled {
                        this.span.set_clocks(clocks.finish(end), end);
                    }
                    this.span.end_at(end);
                }
                Poll::Ready(output)
            }
            Err(payload) => {
                *this.finished = true;
                if this.span.is_recording() {
                    let end = poll_end.unwrap_or_else(clock::now);
                    this.span.record_panic(&*payload);
                    if clocks.enabled {
                        this.span.set_clocks(clocks.finish(end), end);
                    }
                    this.span.end_at(end);
                }
                resume_unwind(payload)
            }
        }
    }
}

/// Attaches a span to any future: `future.in_span(span)`.
pub trait TracedExt: Future + Sized {
    /// Runs this future inside `span` (see [`Traced`]).
    fn in_span(self, span: Span) -> Traced<Self> {
        Traced::new(self, span)
    }

    /// Runs this future with the caller's current context on every poll:
    /// for futures handed to executors spanflow does not wrap.
    fn in_current_context(self) -> Traced<Self> {
        Traced::new(self, Span::from_context(Context::current()))
    }
}

impl<F: Future> TracedExt for F {}
