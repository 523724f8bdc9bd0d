fn main() {
    let double = #[spanflow::trace] |x: u32| x * 2;
    double(2);
}
