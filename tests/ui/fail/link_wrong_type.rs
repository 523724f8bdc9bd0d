#[spanflow::trace(link = batch)]
fn handle(batch: &[u8]) {
    let _ = batch;
}

fn main() {}
