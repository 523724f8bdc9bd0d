struct Cart;

impl Cart {
    #[spanflow::trace(args(self))]
    fn total(&self) -> u64 {
        0
    }
}

fn main() {}
