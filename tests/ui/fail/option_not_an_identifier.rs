#[spanflow::trace("checkout")]
fn checkout() {}

fn main() {}
