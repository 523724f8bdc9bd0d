#[spanflow::trace(name = checkout)]
fn checkout() {}

fn main() {}
