#[spanflow::trace]
struct Order {
    id: u64,
}

fn main() {}
