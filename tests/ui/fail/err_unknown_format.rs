#[spanflow::trace(err(Json))]
fn checkout() -> Result<(), String> {
    Ok(())
}

fn main() {}
