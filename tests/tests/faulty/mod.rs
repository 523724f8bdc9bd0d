//! Span processors that misbehave on purpose, for the tests of what the
//! pipeline does when one does.

#![allow(dead_code)] // each test binary uses a part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// Panics on the first span it is given; keeps the others.
#[derive(Clone, Debug, Default)]
pub struct PanicsOnce(Arc<Mutex<Option<Vec<SpanData>>>>);

impl PanicsOnce {
    /// Whether it has panicked.
    pub fn panicked(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }

    /// The names of the spans kept since the panic.
    pub fn names(&self) -> Vec<String> {
        self.kept(|span| span.name.to_string())
    }

    /// The trace ids of the spans kept since the panic.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        self.kept(|span| span.span_context.trace_id())
    }

    fn kept<T>(&self, each: impl Fn(&SpanData) -> T) -> Vec<T> {
        self.0
            .lock()
            .unwrap()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(each)
            .collect()
    }
}

impl SpanProcessor for PanicsOnce {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut seen = self.0.lock().unwrap();
        match seen.as_mut() {
            Some(kept) => kept.push(span),
            None => {
                *seen = Some(Vec::new());
                drop(seen);
                panic!("a processor bug");
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
