// A span entered with a guard must not be held across an `.await` of a
// spawned future: the guard cannot cross threads (use `in_span` there).
async fn step() {
    let mut span = spanflow::span!("step");
    let _entered = span.enter();
    tokio::task::yield_now().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        spanflow::spawn(step()).await.unwrap();
    });
}
