#[spanflow::trace(kind = db, colour = "red", err(Json))]
fn checkout() -> Result<(), String> {
    Ok(())
}

fn main() {}
