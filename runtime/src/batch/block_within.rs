//! Driving an exporter's `export` future on the export thread, for at most
//! `OTEL_BSP_EXPORT_TIMEOUT`.
//!
//! The SDK's batch processor drives it with `futures_executor::block_on`,
//! which waits forever: an exporter whose future never completes (a request
//! with no timeout to a receiver that stopped answering) stops every later
//! export. The specification makes the variable the longest an export may
//! take; futures-executor has no deadline, so this is its `block_on` with
//! one. A future that blocks its thread inside `poll` cannot be stopped
//! this way (nor any other, short of ending the thread).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Wakes the export thread parked in [`block_within`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it completes, or drops it (which
/// cancels it) once `timeout` has passed: `None` then.
pub(crate) fn block_within<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    let deadline = Instant::now().checked_add(timeout);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        match deadline {
            // A timeout too large for the clock: no deadline.
            None => thread::park(),
            Some(deadline) => {
                let left = deadline.checked_duration_since(Instant::now())?;
                // Unparked by the waker, or at the deadline; spurious
                // wake-ups only poll once more.
                thread::park_timeout(left);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_future_woken_from_another_thread_completes() {
        let (send, receive) = mpsc::channel();
        let waiting = async move {
            // Pending until the other thread has sent, then ready.
            std::future::poll_fn(|cx| match receive.try_recv() {
                Ok(value) => Poll::Ready(value),
                Err(_) => {
                    let waker = cx.waker().clone();
                    let send = send.clone();
                    thread::spawn(move || {
                        let _ = send.send(7);
                        waker.wake();
                    });
                    Poll::Pending
                }
            })
            .await
        };
        assert_eq!(block_within(waiting, Duration::from_secs(30)), Some(7));
    }

    #[test]
    fn a_future_that_never_completes_is_dropped_at_the_deadline() {
        struct Dropped(mpsc::Sender<()>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (dropped, was_dropped) = mpsc::channel();
        let guard = Dropped(dropped);
        let never = async move {
            let _guard = guard;
            std::future::pending::<()>().await
        };
        let started = Instant::now();
        assert_eq!(block_within(never, Duration::from_millis(50)), None);
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(was_dropped.try_recv().is_ok(), "cancelled, not leaked");
    }

    #[test]
    fn a_timeout_beyond_the_clock_waits_without_a_deadline() {
        assert_eq!(block_within(async { 3 }, Duration::MAX), Some(3));
    }
}
