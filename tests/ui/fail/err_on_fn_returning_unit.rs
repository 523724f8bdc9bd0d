#[spanflow::trace(err)]
fn checkout() {}

fn main() {}
