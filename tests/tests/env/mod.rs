//! For the test binaries that configure spanflow through the environment:
//! each has one test, which alone changes its process's environment.

#![allow(dead_code)] // each test binary uses a part

use spanflow::{ConfigError, InstallError, PipelineGuard};

/// Sets an environment variable.
pub fn set(name: &str, value: &str) {
    // SAFETY: the binary's only test sets variables before any thread reads
    // them; nothing else runs concurrently.
    unsafe { std::env::set_var(name, value) };
}

/// Removes an environment variable.
pub fn unset(name: &str) {
    // SAFETY: as in `set`.
    unsafe { std::env::remove_var(name) };
}

/// The configuration error an install failed with.
pub fn config_error(result: Result<PipelineGuard, InstallError>) -> ConfigError {
    match result {
        Err(InstallError::Config(error)) => error,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// Asserts that an install was refused for `variable` holding `value`;
/// returns the error, for its reason.
pub fn refused(
    result: Result<PipelineGuard, InstallError>,
    variable: &str,
    value: &str,
) -> ConfigError {
    let error = config_error(result);
    assert_eq!((error.variable, error.value.as_str()), (variable, value));
    error
}

/// Whether a `#[trace]` span is recorded (sampled and current).
#[spanflow::trace]
pub fn traced() -> bool {
    use opentelemetry::trace::TraceContextExt;
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
}
