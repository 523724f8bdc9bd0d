use actix::prelude::*;
use spanflow_actix::{AtomicResponse, TracedSend};

#[derive(Message)]
#[rtype(result = "u32")]
struct Ping;

#[derive(Message)]
#[rtype(result = "u32")]
struct Pong;

struct Counter(u32);

impl Actor for Counter {
    type Context = Context<Self>;
}

#[spanflow_actix::traced_handler]
impl Handler<Ping> for Counter {
    type Result = ResponseActFuture<Self, u32>;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> Self::Result {
        Box::pin(actix::fut::ready(1).map(|one, actor: &mut Self, _| {
            actor.0 += one;
            actor.0
        }))
    }
}

#[spanflow_actix::traced_handler]
impl Handler<Pong> for Counter {
    type Result = AtomicResponse<Self, u32>;
    fn handle(&mut self, _: Pong, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(actix::fut::ready(10).map(|ten, actor: &mut Self, _| {
            actor.0 += ten;
            actor.0
        })))
    }
}

fn main() {
    System::new().block_on(async {
        let counter = Counter(0).start();
        assert_eq!(counter.send_traced(Ping).await, Ok(1));
        assert_eq!(counter.send(Ping).await, Ok(2));
        assert_eq!(counter.send_traced(Pong).await, Ok(12));
        assert_eq!(counter.send(Pong).await, Ok(22));
    });
}
