//! Carrying a context across hand-made boundaries.

use std::future::Future;

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};

use crate::future::Traced;
use crate::span::Span;

/// What `#[trace(parent = ...)]` accepts: anything that names a parent span.
///
/// Implemented for [`Context`] and [`SpanContext`] (owned or borrowed), for
/// [`Span`], for what a carrier sends
/// ([`propagation::Extracted`](crate::propagation::Extracted)), and for
/// `Option` of those (`None` means "no parent: a new trace").
pub trait ParentContext {
    /// The context whose span becomes the parent.
    fn into_parent_context(self) -> Context;

    /// The parent as the span start takes it (support API): a remote span
    /// context is kept beside the context it joins instead of in a new
    /// `Context` of its own, which the span's `Context` would replace at
    /// once (an allocation and ~45 ns per extracted request or message).
    #[doc(hidden)]
    fn into_parent(self) -> Parent
    where
        Self: Sized,
    {
        Parent::of(self.into_parent_context())
    }
}

/// A parent span: a context, or a remote span context over a context's
/// entries (support API; see [`ParentContext::into_parent`]).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Parent {
    /// The entries (baggage, suppression) a new span's `Context` keeps, and
    /// its span the parent unless `remote` names one.
    pub(crate) base: Context,
    pub(crate) remote: Option<SpanContext>,
}

impl Parent {
    #[inline]
    pub(crate) fn of(context: Context) -> Parent {
        Parent {
            base: context,
            remote: None,
        }
    }

    #[inline]
    pub(crate) fn remote(base: Context, span_context: SpanContext) -> Parent {
        Parent {
            base,
            remote: Some(span_context),
        }
    }

    /// The parent as one `Context`, for the paths that need one.
    #[inline]
    pub(crate) fn into_context(self) -> Context {
        match self.remote {
            Some(span_context) => self.base.with_remote_span_context(span_context),
            None => self.base,
        }
    }
}

impl ParentContext for Context {
    fn into_parent_context(self) -> Context {
        self
    }
}

impl ParentContext for &Context {
    fn into_parent_context(self) -> Context {
        self.clone()
    }
}

impl ParentContext for SpanContext {
    fn into_parent_context(self) -> Context {
        Context::new().with_remote_span_context(self)
    }

    #[inline]
    fn into_parent(self) -> Parent {
        Parent::remote(Context::new(), self)
    }
}

impl ParentContext for &SpanContext {
    fn into_parent_context(self) -> Context {
        Context::new().with_remote_span_context(self.clone())
    }

    #[inline]
    fn into_parent(self) -> Parent {
        Parent::remote(Context::new(), self.clone())
    }
}

impl ParentContext for &Span {
    fn into_parent_context(self) -> Context {
        match self.context() {
            Some(context) => context.clone(),
            None => Context::new().with_remote_span_context(self.span_context()),
        }
    }
}

impl<T: ParentContext> ParentContext for Option<T> {
    fn into_parent_context(self) -> Context {
        self.map(ParentContext::into_parent_context)
            .unwrap_or_default()
    }

    #[inline]
    fn into_parent(self) -> Parent {
        match self {
            Some(parent) => parent.into_parent(),
            None => Parent::of(Context::new()),
        }
    }
}

/// What `#[trace(link = ...)]` and `links = ...` accept.
pub trait LinkTarget {
    /// The span context to link to (an invalid one is ignored).
    fn link_span_context(self) -> SpanContext;
}

impl LinkTarget for SpanContext {
    fn link_span_context(self) -> SpanContext {
        self
    }
}

impl LinkTarget for &SpanContext {
    fn link_span_context(self) -> SpanContext {
        self.clone()
    }
}

impl LinkTarget for Context {
    fn link_span_context(self) -> SpanContext {
        self.span().span_context().clone()
    }
}

impl LinkTarget for &Context {
    fn link_span_context(self) -> SpanContext {
        self.span().span_context().clone()
    }
}

/// The current context, to hand to another thread, task or actor.
///
/// ```
/// let cx = spanflow::current_context();
/// std::thread::spawn(move || spanflow::with_context(&cx, || { /* traced work */ }))
///     .join()
///     .unwrap();
/// ```
pub fn current_context() -> Context {
    Context::current()
}

/// Runs `f` with `context` current, restoring the previous one afterwards,
/// also on panic. Spans `f` starts are children of the context's span; what
/// `f` adds to "the current span" without a handle
/// ([`current::add_event`](crate::current::add_event), log lines) reaches
/// the context's spanflow span if it has not ended, through the collector
/// (a lock and a clock read each); [`Span::in_scope`] with the span itself
/// hands it over directly.
pub fn with_context<R>(context: &Context, f: impl FnOnce() -> R) -> R {
    let _guard = context.clone().attach();
    f()
}

/// Makes `context` current on every poll of `future` (as with
/// [`with_context`]: what the future adds to the current span reaches the
/// context's span through the collector; [`TracedExt::in_span`](crate::TracedExt::in_span)
/// with the span itself hands it over directly).
///
/// ```
/// # futures::executor::block_on(async {
/// let cx = spanflow::current_context();
/// let answer = spanflow::in_context(cx, async { 42 }).await;
/// assert_eq!(answer, 42);
/// # });
/// ```
pub fn in_context<F: Future>(context: Context, future: F) -> Traced<F> {
    Traced::new(future, Span::from_context(context))
}
