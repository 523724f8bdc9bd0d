//! One span processor fed both by spanflow's collector and by the SDK
//! provider.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanProcessor};

use crate::limits::Limits;

/// spanflow owns the processor's lifecycle: the resource is set before it is
/// shared, and shutdown happens once, after the collector has drained, so the
/// provider's own shutdown is a no-op here.
#[derive(Debug)]
pub(crate) struct SharedProcessor {
    pub(crate) processor: Arc<dyn SpanProcessor>,
    /// The provider applies the count limits; the value length limit, which
    /// it lacks, is applied here, to the spans it made.
    pub(crate) limits: Limits,
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        self.processor.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        self.limits.cut_span_data(&mut span);
        self.processor.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.processor.force_flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
