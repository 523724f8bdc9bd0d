struct Receipt;

#[spanflow::trace(ret)]
fn pay() -> Receipt {
    Receipt
}

fn main() {}
