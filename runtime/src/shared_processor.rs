//! The span processor of the SDK provider a pipeline installs: spans made
//! through the OpenTelemetry API reach the pipeline's processors through
//! the collector, as spanflow's own spans do.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanProcessor};

use crate::collector::ApiSpans;
use crate::limits::Limits;

/// spanflow owns the processors' lifecycle: the resource is set before they
/// are shared, and shutdown happens once, after the collector has drained,
/// so the provider's own shutdown is a no-op here.
pub(crate) struct SharedProcessor {
    /// The pipeline's processors, for `on_start`, which happens on the
    /// application thread as under the SDK.
    pub(crate) processors: Vec<Arc<dyn SpanProcessor>>,
    /// The collector, which gives ended spans to the same processors.
    pub(crate) collector: ApiSpans,
    /// The provider applies the count limits; the value length limit, which
    /// it lacks, is applied here, to the spans it made.
    pub(crate) limits: Limits,
    /// How long `force_flush` waits: the pipeline's shutdown timeout, as
    /// `PipelineGuard::flush`.
    pub(crate) flush_timeout: Duration,
}

impl std::fmt::Debug for SharedProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedProcessor")
            .field("processors", &self.processors)
            .finish_non_exhaustive()
    }
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        for processor in &self.processors {
            processor.on_start(span, cx);
        }
    }

    fn on_end(&self, mut span: SpanData) {
        self.limits.cut_span_data(&mut span);
        self.collector.submit(span);
    }

    /// Drains what the collector holds into the processors and flushes
    /// them, as `PipelineGuard::flush` does.
    fn force_flush(&self) -> OTelSdkResult {
        self.collector
            .flush(self.flush_timeout)
            .map_err(|_| OTelSdkError::Timeout(self.flush_timeout))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
