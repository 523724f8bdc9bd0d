//! One span processor fed both by spanflow's collector and by the SDK
//! provider.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanProcessor};

/// spanflow owns the processor's lifecycle: the resource is set before it is
/// shared, and shutdown happens once, after the collector has drained, so the
/// provider's own shutdown is a no-op here.
#[derive(Debug)]
pub(crate) struct SharedProcessor(pub(crate) Arc<dyn SpanProcessor>);

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
