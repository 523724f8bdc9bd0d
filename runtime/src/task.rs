//! Spawning tasks that keep the caller's context.
//!
//! `tokio::spawn` starts the task with an empty context, so its spans would
//! begin new traces. These wrappers capture the caller's context at spawn
//! time, make it current on every poll of the task (on whichever worker
//! thread), and hand the spawn instant to the first span the task opens, so
//! its `spanflow.queued_ns` shows how long the task waited for a worker.

use std::cell::Cell;

use crate::clock::Ticks;

thread_local! {
    /// The spawn instant of the task being polled for the first time.
    static SPAWNED_AT: Cell<Option<Ticks>> = const { Cell::new(None) };
}

/// Takes the spawn instant published by the first poll of a spawned task.
#[inline]
pub(crate) fn take_spawn_instant() -> Option<Ticks> {
    SPAWNED_AT
        .try_with(|cell| {
            let spawned_at = cell.get();
            if spawned_at.is_some() {
                cell.set(None);
            }
            spawned_at
        })
        .ok()
        .flatten()
}

/// Publishes `spawned_at` for the duration of `f` (the task's first poll).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn with_spawn_instant<R>(spawned_at: Ticks, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Ticks>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = SPAWNED_AT.try_with(|cell| cell.set(self.0));
        }
    }
    let previous = SPAWNED_AT
        .try_with(|cell| cell.replace(Some(spawned_at)))
        .ok()
        .flatten();
    let _reset = Reset(previous);
    f()
}

#[cfg(feature = "tokio")]
pub use self::tokio_tasks::*;

#[cfg(feature = "tokio")]
mod tokio_tasks {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context as TaskContext, Poll};

    use opentelemetry::Context;
    use pin_project_lite::pin_project;
    use tokio::task::{AbortHandle, JoinHandle, JoinSet};

    use super::with_spawn_instant;
    use crate::clock::{self, Ticks};

    pin_project! {
        /// A task future carrying the context of the code that spawned it.
        #[must_use = "futures do nothing unless polled"]
        #[derive(Debug)]
        pub struct Spawned<F> {
            #[pin]
            inner: F,
            context: Context,
            spawned_at: Option<Ticks>,
        }
    }

    impl<F: Future> Spawned<F> {
        /// Captures the current context and the spawn instant.
        pub fn new(future: F) -> Self {
            Spawned {
                inner: future,
                context: Context::current(),
                spawned_at: crate::recorder::get().map(|_| clock::now()),
            }
        }
    }

    impl<F: Future> Future for Spawned<F> {
        type Output = F::Output;

        fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
            let this = self.project();
            let _guard = this.context.clone().attach();
            match this.spawned_at.take() {
                Some(spawned_at) => with_spawn_instant(spawned_at, || this.inner.poll(cx)),
                None => this.inner.poll(cx),
            }
        }
    }

    /// `tokio::spawn`, keeping the caller's context (see the module docs).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let handle = spanflow::spawn(async { 1 + 1 });
    /// assert_eq!(handle.await.unwrap(), 2);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(Spawned::new(future))
    }

    /// `tokio::task::spawn_local`, keeping the caller's context.
    #[track_caller]
    pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        tokio::task::spawn_local(Spawned::new(future))
    }

    /// `tokio::task::spawn_blocking`, keeping the caller's context; the first
    /// span opened on the blocking thread records how long the closure waited
    /// for one.
    #[track_caller]
    pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let context = Context::current();
        let spawned_at = crate::recorder::get().map(|_| clock::now());
        tokio::task::spawn_blocking(move || {
            let _guard = context.attach();
            match spawned_at {
                Some(spawned_at) => with_spawn_instant(spawned_at, f),
                None => f(),
            }
        })
    }

    /// Spawning into a [`JoinSet`] with the caller's context.
    pub trait JoinSetExt<T> {
        /// `JoinSet::spawn`, keeping the caller's context.
        fn spawn_traced<F>(&mut self, future: F) -> AbortHandle
        where
            F: Future<Output = T> + Send + 'static,
            T: Send;

        /// `JoinSet::spawn_blocking`, keeping the caller's context.
        fn spawn_blocking_traced<F>(&mut self, f: F) -> AbortHandle
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send;
    }

    impl<T: 'static> JoinSetExt<T> for JoinSet<T> {
        #[track_caller]
        fn spawn_traced<F>(&mut self, future: F) -> AbortHandle
        where
            F: Future<Output = T> + Send + 'static,
            T: Send,
        {
            self.spawn(Spawned::new(future))
        }

        #[track_caller]
        fn spawn_blocking_traced<F>(&mut self, f: F) -> AbortHandle
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send,
        {
            let context = Context::current();
            let spawned_at = crate::recorder::get().map(|_| clock::now());
            self.spawn_blocking(move || {
                let _guard = context.attach();
                match spawned_at {
                    Some(spawned_at) => with_spawn_instant(spawned_at, f),
                    None => f(),
                }
            })
        }
    }
}
