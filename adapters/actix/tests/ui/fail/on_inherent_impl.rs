struct Cart;

#[spanflow_actix::traced_handler]
impl Cart {
    fn handle(&mut self) {}
}

fn main() {}
