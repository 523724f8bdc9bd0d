//! The processor behind [`Pipeline::with_simple_exporter`](super::Pipeline::with_simple_exporter)
//! and the embedded default's terminal: each span goes to the exporter as
//! it ends, as with the SDK's `SimpleSpanProcessor`, and a flush flushes the
//! exporter too. The SDK's processor does nothing on `force_flush`, where
//! the specification asks a processor to invoke its exporter's
//! `ForceFlush`; so `PipelineGuard::flush` returned before an exporter that
//! writes on a thread of its own (spanflow's terminal tree) or buffers had
//! written what it was given.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

#[derive(Debug)]
pub(crate) struct SimpleExport<E> {
    exporter: Mutex<E>,
    shut_down: AtomicBool,
}

impl<E: SpanExporter> SimpleExport<E> {
    pub(crate) fn new(exporter: E) -> Self {
        SimpleExport {
            exporter: Mutex::new(exporter),
            shut_down: AtomicBool::new(false),
        }
    }

    /// The exporter; one that panicked (the collector survives it) is
    /// still used.
    fn exporter(&self) -> MutexGuard<'_, E> {
        self.exporter.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<E: SpanExporter> SpanProcessor for SimpleExport<E> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() || self.shut_down.load(Ordering::Relaxed) {
            return;
        }
        // An error is the exporter's to report, as under the SDK's
        // processor: there is no batch here to count it against.
        let _ = futures_executor::block_on(self.exporter().export(vec![span]));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter().force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shut_down.store(true, Ordering::Relaxed);
        self.exporter().shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter().set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Debug, Default)]
    struct Counting {
        exported: Arc<AtomicUsize>,
        flushed: Arc<AtomicUsize>,
    }

    impl SpanExporter for Counting {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.exported.fetch_add(batch.len(), Ordering::Relaxed);
            Ok(())
        }

        fn force_flush(&self) -> OTelSdkResult {
            self.flushed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    #[test]
    fn a_flush_reaches_the_exporter() {
        let exporter = Counting::default();
        let (exported, flushed) = (exporter.exported.clone(), exporter.flushed.clone());
        let processor = SimpleExport::new(exporter);
        processor.on_end(crate::export::trace::tests::span(1, 1, 0));
        assert_eq!(exported.load(Ordering::Relaxed), 1);
        processor.force_flush().unwrap();
        assert_eq!(flushed.load(Ordering::Relaxed), 1);
        processor.shutdown().unwrap();
        processor.on_end(crate::export::trace::tests::span(1, 2, 0));
        assert_eq!(
            exported.load(Ordering::Relaxed),
            1,
            "nothing after shutdown"
        );
    }
}
