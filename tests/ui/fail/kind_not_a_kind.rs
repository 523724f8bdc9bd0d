#[spanflow::trace(kind = database)]
fn query() {}

fn main() {}
