#[spanflow::trace(fields(cart.items))]
fn checkout() {}

fn main() {}
