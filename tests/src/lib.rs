//! Support for spanflow's integration tests (in `tests/`; trybuild cases in
//! `ui/`): a real OTLP receiver on loopback.

pub mod otlp_receiver;

/// The README's quick start, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeQuickStart;
