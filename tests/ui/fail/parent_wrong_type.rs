#[spanflow::trace(parent = id)]
fn handle(id: u64) {
    let _ = id;
}

fn main() {}
