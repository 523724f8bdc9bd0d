#[spanflow::trace(args(cart, cart))]
fn checkout(cart: u64) -> u64 {
    cart
}

fn main() {}
