//! One copy of a trace's `tracestate` for the records of its spans.
//!
//! OpenTelemetry's `TraceState` is a list of owned strings, and cloning it
//! copies every one: a two-entry state (`ot=th:8,rojo=...`, what a
//! ratio-sampled trace through a vendor's agent carries) is five
//! allocations. The `Context` that makes a span current needs its own
//! copy, which spanflow cannot avoid; the span's record does not: the
//! records of the spans a thread makes in one trace share one, counted.

use std::cell::RefCell;
use std::sync::Arc;

use opentelemetry::trace::TraceState;

thread_local! {
    /// The state this thread shared last: spans of one trace follow each
    /// other, and a state is compared faster than it is copied.
    static LAST: RefCell<Option<Arc<TraceState>>> = const { RefCell::new(None) };
}

/// A shared copy of `state`.
pub(crate) fn shared(state: &TraceState) -> Arc<TraceState> {
    LAST.try_with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(known) if **known == *state => Arc::clone(known),
            _ => {
                let copy = Arc::new(state.clone());
                *last = Some(Arc::clone(&copy));
                copy
            }
        }
    })
    // While the thread is being torn down: a copy of its own.
    .unwrap_or_else(|_| Arc::new(state.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_states_share_one_copy_and_another_state_gets_its_own() {
        let state: TraceState = "ot=th:8,rojo=00f067aa0ba902b7".parse().unwrap();
        let first = shared(&state);
        let second = shared(&state.clone());
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(*first, state);
        let other: TraceState = "ot=th:c".parse().unwrap();
        let third = shared(&other);
        assert!(!Arc::ptr_eq(&first, &third));
        assert_eq!(*third, other);
    }
}
