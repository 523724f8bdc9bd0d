#[spanflow::trace(root = true)]
fn handle() {}

fn main() {}
