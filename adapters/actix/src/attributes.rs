//! The attribute keys spanflow-actix writes.

/// Nanoseconds a message waited in the actor's mailbox: from the traced send
/// to the start of its handler.
pub const MAILBOX_NS: &str = "spanflow.mailbox_ns";
