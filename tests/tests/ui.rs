//! Compile-time behaviour of `#[trace]`: misuse is an error on the offending
//! token (`ui/fail`), and every supported fn shape compiles and runs
//! (`ui/pass`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/fail/*.rs");
    cases.pass("ui/pass/*.rs");
}
