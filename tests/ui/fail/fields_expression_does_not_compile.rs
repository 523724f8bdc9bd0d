#[spanflow::trace(fields(total = cart.totl))]
fn checkout(cart: &(u64, u64)) -> u64 {
    cart.0
}

fn main() {}
