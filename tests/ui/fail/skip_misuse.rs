#[spanflow::trace(skip(nope, order), args(order))]
fn reserve(order: u64) -> u64 {
    order
}

#[spanflow::trace(skip_all, args(order))]
fn release(order: u64) -> u64 {
    order
}

fn main() {}
