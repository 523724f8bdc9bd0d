use async_trait::async_trait;

#[async_trait]
trait Store {
    async fn load(&self, key: u64) -> Option<u64>;

    #[spanflow::trace]
    async fn load_or_zero(&self, key: u64) -> u64 {
        self.load(key).await.unwrap_or(0)
    }
}

struct Memory;

#[async_trait]
impl Store for Memory {
    #[spanflow::trace(args(key), ret)]
    async fn load(&self, key: u64) -> Option<u64> {
        Some(key)
    }
}

#[async_trait(?Send)]
trait LocalStore {
    async fn get(&self) -> Result<u8, String>;
}

#[async_trait(?Send)]
impl LocalStore for Memory {
    #[spanflow::trace(err)]
    async fn get(&self) -> Result<u8, String> {
        Ok(1)
    }
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(Memory.load(3).await, Some(3));
        assert_eq!(Memory.load_or_zero(4).await, 4);
        assert_eq!(Memory.get().await, Ok(1));
    });
}
