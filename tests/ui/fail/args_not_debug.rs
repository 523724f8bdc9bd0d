struct Secret;

#[spanflow::trace(args(secret))]
fn login(secret: Secret) {
    let _ = secret;
}

fn main() {}
