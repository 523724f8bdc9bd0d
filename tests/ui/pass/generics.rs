use std::fmt::Debug;

#[spanflow::trace(args(item, label))]
fn generic<T, U>(item: T, label: impl AsRef<str> + Debug, other: U) -> T
where
    T: Clone + Debug,
    U: Into<u64>,
{
    let _ = (label.as_ref(), other.into());
    item.clone()
}

struct Wrapper<T>(T);

impl<T: Clone + Send + Sync + 'static> Wrapper<T> {
    #[spanflow::trace]
    async fn get<'a>(&'a self, _unused: &'a str) -> T {
        self.0.clone()
    }
}

#[spanflow::trace]
fn lifetimes<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

fn main() {
    assert_eq!(generic(3u8, "x", 2u32), 3);
    assert_eq!(futures::executor::block_on(Wrapper(5).get("x")), 5);
    assert_eq!(lifetimes("a", "b"), "a");
}
