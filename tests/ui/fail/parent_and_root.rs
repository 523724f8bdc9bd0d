#[spanflow::trace(parent = cx, root)]
fn handle(cx: opentelemetry::Context) {
    let _ = cx;
}

fn main() {}
