#[derive(Debug)]
struct Declined;

#[spanflow::trace(err)]
fn pay() -> Result<(), Declined> {
    Err(Declined)
}

fn main() {}
