// `skip` and `skip_all` as `tracing::instrument` users write them compile
// unchanged: arguments are recorded only when `args` names them.

struct Cart {
    items: Vec<u32>,
}

impl Cart {
    #[spanflow::trace(skip(self), args(discount))]
    fn total(&self, discount: u32) -> u32 {
        self.items.iter().sum::<u32>() - discount
    }
}

#[spanflow::trace(skip(secret), fields(user = user))]
fn login(user: &str, secret: &str) -> bool {
    !user.is_empty() && !secret.is_empty()
}

#[spanflow::trace(skip_all)]
async fn upload(_bytes: Vec<u8>) {}

fn main() {
    let cart = Cart { items: vec![3, 4] };
    assert_eq!(cart.total(1), 6);
    assert!(login("ada", "hunter2"));
    futures::executor::block_on(upload(vec![1, 2, 3]));
}
