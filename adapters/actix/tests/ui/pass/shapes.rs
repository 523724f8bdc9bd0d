use std::marker::PhantomData;

use actix::prelude::*;
use spanflow_actix::TracedSend;

#[derive(Message)]
#[rtype(result = "u32")]
struct Count;

#[derive(Message)]
#[rtype(result = "String")]
struct Name;

#[derive(Message)]
#[rtype(result = "u64")]
struct Later;

struct Counter<T> {
    count: u32,
    _kind: PhantomData<T>,
}

impl<T: Unpin + 'static> Actor for Counter<T> {
    type Context = Context<Self>;
}

#[spanflow_actix::traced_handler]
impl<T> Handler<Count> for Counter<T>
where
    T: Unpin + 'static,
{
    type Result = u32;
    fn handle(&mut self, _: Count, _: &mut Self::Context) -> u32 {
        self.count += 1;
        self.count
    }
}

#[spanflow_actix::traced_handler]
impl<T: Unpin + 'static> actix::Handler<Name> for Counter<T> {
    type Result = MessageResult<Name>;
    fn handle(&mut self, _: Name, _: &mut Context<Self>) -> Self::Result {
        MessageResult("counter".to_owned())
    }
}

#[spanflow_actix::traced_handler]
impl<T: Unpin + 'static> Handler<Later> for Counter<T> {
    type Result = ResponseFuture<u64>;
    fn handle(&mut self, _: Later, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async { 7 })
    }
}

fn main() {
    System::new().block_on(async {
        let counter = Counter::<u8> { count: 0, _kind: PhantomData }.start();
        assert_eq!(counter.send_traced(Count).await, Ok(1));
        assert_eq!(counter.send(Count).await, Ok(2), "the plain handler is untouched");
        assert_eq!(counter.send_traced(Name).await.as_deref(), Ok("counter"));
        assert_eq!(counter.send_traced(Later).await, Ok(7));
    });
}
