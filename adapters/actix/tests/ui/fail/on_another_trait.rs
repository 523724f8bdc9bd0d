struct Cart;

#[spanflow_actix::traced_handler]
impl Clone for Cart {
    fn clone(&self) -> Self {
        Cart
    }
}

fn main() {}
