//! spanflow's integration tests live in `tests/`, trybuild cases in `ui/`;
//! the OTLP receiver they export to is the `spanflow-otlp-receiver` crate.

/// The README's quick start, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeQuickStart;
