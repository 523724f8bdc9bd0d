//! Instrumentation preserves `Send` and `Sync` of futures, at compile time.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use spanflow::{Traced, trace};

fn assert_send<T: Send>(_: &T) {}
fn assert_sync<T: Sync>(_: &T) {}

#[trace]
async fn send_and_sync() -> u8 {
    1
}

#[trace]
async fn not_send() -> u8 {
    let rc = Rc::new(1);
    std::future::ready(()).await;
    *rc
}

/// A future that is `Send` but not `Sync`.
struct SendOnly(Cell<u8>);

impl Future for SendOnly {
    type Output = u8;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
        std::task::Poll::Ready(self.0.get())
    }
}

#[test]
fn traced_futures_keep_send_and_sync() {
    let future = send_and_sync();
    assert_send(&future);
    assert_sync(&future);

    let traced: Traced<SendOnly> = Traced::new(SendOnly(Cell::new(1)), spanflow::Span::none());
    assert_send(&traced);

    // `not_send` stays !Send, exactly as without #[trace] (the UI cases
    // `not_send_stays_not_send.rs` and `traced_not_sync.rs` check the negatives).
    assert_eq!(futures::executor::block_on(not_send()), 1);
}
