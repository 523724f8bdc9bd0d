struct Cart;

#[spanflow::trace]
impl Cart {
    fn total(&self) -> u64 {
        0
    }
}

fn main() {}
