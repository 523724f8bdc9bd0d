#[spanflow::trace]
fn plain() {}

#[spanflow::trace(name = "orders.total", kind = internal, args(a, b), ret)]
fn with_args(a: u64, b: &str) -> u64 {
    a + b.len() as u64
}

#[spanflow::trace]
pub(crate) extern "C" fn callback(x: i32) -> i32 {
    x
}

fn main() {
    plain();
    assert_eq!(with_args(1, "ab"), 3);
    assert_eq!(callback(4), 4);
}
