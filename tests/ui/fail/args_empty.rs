#[spanflow::trace(args())]
fn checkout(cart: u64) -> u64 {
    cart
}

fn main() {}
