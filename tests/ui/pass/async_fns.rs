use std::future::Future;

#[spanflow::trace(err)]
async fn fetch(id: u64) -> Result<u64, std::num::ParseIntError> {
    let parsed: u64 = "7".parse()?;
    if id == 0 {
        return Ok(0);
    }
    Ok(parsed + id)
}

#[spanflow::trace]
fn returns_future(id: u64) -> impl Future<Output = u64> + Send {
    async move { id * 2 }
}

#[spanflow::trace]
fn returns_future_early(id: u64) -> impl Future<Output = u64> {
    if id == 0 {
        return futures::future::Either::Left(std::future::ready(0));
    }
    futures::future::Either::Right(async move { id })
}

fn spawnable() -> impl Future<Output = ()> + Send + 'static {
    async {
        fetch(1).await.unwrap();
    }
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(fetch(1).await.unwrap(), 8);
        assert_eq!(returns_future(2).await, 4);
        assert_eq!(returns_future_early(0).await, 0);
        spawnable().await;
    });
}
