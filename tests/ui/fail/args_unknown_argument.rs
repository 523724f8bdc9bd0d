#[spanflow::trace(args(cart, user))]
fn checkout(cart: u64) -> u64 {
    cart
}

fn main() {}
