trait Store {
    #[spanflow::trace]
    fn save(&self);
}

fn main() {}
