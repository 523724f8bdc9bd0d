#[spanflow::trace(kind = client, kind = server)]
fn checkout() {}

fn main() {}
