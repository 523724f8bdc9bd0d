use actix::prelude::*;

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

struct Pong;
impl Actor for Pong {
    type Context = Context<Self>;
}

#[spanflow_actix::traced_handler(kind = consumer)]
impl Handler<Ping> for Pong {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

fn main() {}
