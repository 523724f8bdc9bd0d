struct Cart {
    items: Vec<u64>,
}

#[spanflow::trace(fields(cart.items = cart))]
fn checkout(cart: &Cart) -> usize {
    cart.items.len()
}

fn main() {}
