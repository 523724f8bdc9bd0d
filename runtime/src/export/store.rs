//! The in-process collector: finished spans in a bounded, queryable store.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::trace::Trace;

/// How many spans a [`TraceStore`] keeps unless configured.
pub const DEFAULT_STORE_SPANS: usize = 100_000;

/// Finished spans grouped by trace, in arrival order, bounded by a span
/// count: when full, whole traces are evicted, oldest first, and counted.
///
/// Cloning gives another handle on the same store. Hand
/// [`TraceStore::exporter`] to a pipeline and query the store from code:
///
/// ```
/// use spanflow::export::TraceStore;
///
/// let store = TraceStore::new(10_000);
/// let pipeline = spanflow::Pipeline::new()
///     .with_simple_exporter(store.exporter())
///     .install()
///     .unwrap();
///
/// #[spanflow::trace]
/// fn work() {}
/// work();
///
/// pipeline.flush().unwrap();
/// let trace = store.traces().pop().unwrap();
/// assert_eq!(trace.root().unwrap().name, "work");
/// ```
#[derive(Clone)]
pub struct TraceStore {
    state: Arc<Mutex<State>>,
}

struct State {
    max_spans: usize,
    spans: usize,
    traces: HashMap<TraceId, Vec<SpanData>>,
    order: VecDeque<TraceId>,
    evicted_traces: u64,
    evicted_spans: u64,
}

impl TraceStore {
    /// A store keeping at most `max_spans` spans (at least one trace is
    /// always kept whole, however large).
    pub fn new(max_spans: usize) -> Self {
        TraceStore {
            state: Arc::new(Mutex::new(State {
                max_spans: max_spans.max(1),
                spans: 0,
                traces: HashMap::new(),
                order: VecDeque::new(),
                evicted_traces: 0,
                evicted_spans: 0,
            })),
        }
    }

    /// An exporter writing into this store.
    pub fn exporter(&self) -> StoreExporter {
        StoreExporter {
            store: self.clone(),
        }
    }

    /// Adds finished spans, evicting the oldest traces if the store is full.
    pub fn insert(&self, spans: impl IntoIterator<Item = SpanData>) {
        let mut state = self.lock();
        for span in spans {
            let trace_id = span.span_context.trace_id();
            let entry = state.traces.entry(trace_id).or_default();
            if entry.is_empty() {
                state.order.push_back(trace_id);
            }
            state.traces.entry(trace_id).or_default().push(span);
            state.spans += 1;
        }
        while state.spans > state.max_spans && state.order.len() > 1 {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            if let Some(spans) = state.traces.remove(&oldest) {
                state.spans -= spans.len();
                state.evicted_spans += spans.len() as u64;
                state.evicted_traces += 1;
            }
        }
    }

    /// One trace, if the store has it.
    pub fn trace(&self, trace_id: TraceId) -> Option<Trace> {
        self.lock()
            .traces
            .get(&trace_id)
            .map(|spans| Trace::new(spans.clone()))
    }

    /// Every stored trace, oldest first.
    pub fn traces(&self) -> Vec<Trace> {
        let state = self.lock();
        state
            .order
            .iter()
            .filter_map(|id| state.traces.get(id))
            .map(|spans| Trace::new(spans.clone()))
            .collect()
    }

    /// Every stored span, oldest trace first.
    pub fn spans(&self) -> Vec<SpanData> {
        let state = self.lock();
        state
            .order
            .iter()
            .filter_map(|id| state.traces.get(id))
            .flatten()
            .cloned()
            .collect()
    }

    /// Spans stored now.
    pub fn span_count(&self) -> usize {
        self.lock().spans
    }

    /// Traces evicted to stay within the bound.
    pub fn evicted_traces(&self) -> u64 {
        self.lock().evicted_traces
    }

    /// Spans evicted with those traces.
    pub fn evicted_spans(&self) -> u64 {
        self.lock().evicted_spans
    }

    /// Forgets every stored span (the eviction counts stay).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.traces.clear();
        state.order.clear();
        state.spans = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("TraceStore")
            .field("max_spans", &state.max_spans)
            .field("spans", &state.spans)
            .field("traces", &state.order.len())
            .field("evicted_traces", &state.evicted_traces)
            .finish()
    }
}

/// The `SpanExporter` of a [`TraceStore`].
#[derive(Clone, Debug)]
pub struct StoreExporter {
    store: TraceStore,
}

impl SpanExporter for StoreExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.store.insert(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::trace::tests::span;

    #[test]
    fn the_oldest_whole_traces_are_evicted_and_counted() {
        let store = TraceStore::new(4);
        store.insert([span(1, 1, 0), span(1, 2, 1)]);
        store.insert([span(2, 3, 0), span(2, 4, 3)]);
        assert_eq!(store.span_count(), 4);
        store.insert([span(3, 5, 0)]);
        assert_eq!(store.evicted_traces(), 1);
        assert_eq!(store.evicted_spans(), 2);
        let kept: Vec<u128> = store
            .traces()
            .iter()
            .map(|t| u128::from_be_bytes(t.trace_id().to_bytes()))
            .collect();
        assert_eq!(kept, [2, 3]);
        assert!(store.trace(TraceId::from(1u128)).is_none());
    }
}
