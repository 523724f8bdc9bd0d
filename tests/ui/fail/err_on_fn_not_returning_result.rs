#[spanflow::trace(err)]
fn checkout() -> Option<u64> {
    None
}

fn main() {}
