#[spanflow::trace(nmae = "checkout")]
fn checkout() {}

fn main() {}
