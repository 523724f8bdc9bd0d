use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

struct SendOnly(Cell<u8>);

impl Future for SendOnly {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(self.0.get())
    }
}

fn assert_sync<T: Sync>(_: T) {}

fn main() {
    assert_sync(spanflow::Traced::new(SendOnly(Cell::new(1)), spanflow::Span::none()));
}
