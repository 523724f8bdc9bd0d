//! The attribute keys spanflow writes.
//!
//! Call-site keys are OpenTelemetry semantic-convention names; the keys that
//! have no convention share the `spanflow.` prefix.

/// Fully qualified name of the instrumented function (semantic conventions).
pub const CODE_FUNCTION_NAME: &str = "code.function.name";
/// Source file of the instrumented function (semantic conventions).
pub const CODE_FILE_PATH: &str = "code.file.path";
/// Line of the traced fn's name (semantic conventions).
pub const CODE_LINE_NUMBER: &str = "code.line.number";

/// Nanoseconds from the creation (or spawn) of a traced future to its first poll.
pub const QUEUED_NS: &str = "spanflow.queued_ns";
/// Nanoseconds spent inside `poll` of a traced future, summed over all polls.
pub const BUSY_NS: &str = "spanflow.busy_ns";
/// Nanoseconds between the polls of a traced future (waiting on I/O, timers,
/// locks or other tasks), from its first poll to its end.
pub const IDLE_NS: &str = "spanflow.idle_ns";
/// How many times a traced future was polled.
pub const POLLS: &str = "spanflow.polls";
/// `true` when a traced future was dropped before completing (a timeout, the
/// losing branch of a `select!`, an aborted task). Cancellation is not an
/// error, so the status stays unset.
pub const CANCELLED: &str = "spanflow.cancelled";
/// The return value of a fn traced with `ret`.
pub const RETURN: &str = "spanflow.return";

/// `exception` event name and its keys (semantic conventions), used by `err`
/// and for panics.
pub const EXCEPTION_EVENT: &str = "exception";
/// Type of an error or panic (semantic conventions).
pub const EXCEPTION_TYPE: &str = "exception.type";
/// Message of an error or panic (semantic conventions).
pub const EXCEPTION_MESSAGE: &str = "exception.message";
