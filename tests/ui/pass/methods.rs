use std::pin::Pin;

struct Cart {
    items: u32,
}

impl Cart {
    #[spanflow::trace]
    fn new() -> Self {
        Cart { items: 0 }
    }

    #[spanflow::trace]
    fn count(&self) -> u32 {
        self.items
    }

    #[spanflow::trace(fields(before = self.items))]
    fn add(&mut self) {
        self.items += 1;
    }

    #[spanflow::trace]
    fn into_count(self) -> u32 {
        self.items
    }

    #[spanflow::trace]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.items
    }

    #[spanflow::trace]
    async fn pinned_async(self: Pin<&mut Self>) -> u32 {
        self.items
    }
}

trait Priced {
    fn price(&self) -> u64;
    fn doubled(&self) -> u64;
}

impl Priced for Cart {
    #[spanflow::trace(kind = client)]
    fn price(&self) -> u64 {
        u64::from(self.items) * 10
    }

    #[spanflow::trace]
    fn doubled(&self) -> u64 {
        self.price() * 2
    }
}

fn main() {
    let mut cart = Cart::new();
    cart.add();
    assert_eq!(cart.count(), 1);
    assert_eq!(cart.price(), 10);
    assert_eq!(cart.doubled(), 20);
    assert_eq!(Pin::new(&mut cart).pinned(), 1);
    assert_eq!(futures::executor::block_on(Pin::new(&mut cart).pinned_async()), 1);
    assert_eq!(cart.into_count(), 1);
}
