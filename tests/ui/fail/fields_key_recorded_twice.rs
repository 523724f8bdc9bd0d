#[spanflow::trace(args(cart), fields(total = 1, total = 2, cart = 3))]
fn checkout(cart: u64) -> u64 {
    cart
}

fn main() {}
