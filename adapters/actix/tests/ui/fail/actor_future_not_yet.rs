use actix::prelude::*;

#[derive(Message)]
#[rtype(result = "u32")]
struct Ping;

struct Pong;
impl Actor for Pong {
    type Context = Context<Self>;
}

#[spanflow_actix::traced_handler]
impl Handler<Ping> for Pong {
    type Result = ResponseActFuture<Self, u32>;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> Self::Result {
        Box::pin(actix::fut::ready(1))
    }
}

fn main() {}
