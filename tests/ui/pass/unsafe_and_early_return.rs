#[spanflow::trace]
unsafe fn read(pointer: *const u32) -> u32 {
    // SAFETY: callers pass a valid pointer.
    unsafe { *pointer }
}

#[spanflow::trace(err(Debug))]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let value = input.parse::<u32>()?;
    Ok(value)
}

#[spanflow::trace]
fn never_returns() -> ! {
    std::process::exit(0)
}

fn main() {
    let value = 5;
    // SAFETY: `value` outlives the call.
    assert_eq!(unsafe { read(&value) }, 5);
    assert_eq!(parse(""), Ok(0));
    assert!(parse("x").is_err());
    if value == 6 {
        never_returns();
    }
}
