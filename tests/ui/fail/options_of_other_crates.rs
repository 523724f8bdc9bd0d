// What `tracing::instrument` and `fastrace::trace` take and `#[trace]` does
// not: each error says what to write instead.
#[spanflow::trace(level = "debug", target = "orders", follows_from = [cause])]
fn reconcile(cause: opentelemetry::trace::SpanContext) {
    let _ = cause;
}

#[spanflow::trace(short_name = true, enter_on_poll = true, properties = { "k": "v" })]
async fn poll() {}

fn main() {}
