use std::rc::Rc;

#[spanflow::trace]
async fn holds_rc() {
    let shared = Rc::new(1);
    tokio::task::yield_now().await;
    let _ = shared;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        spanflow::spawn(holds_rc()).await.unwrap();
    });
}
