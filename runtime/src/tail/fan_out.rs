//! Several processors behind one, for a tail sampler in front of all of a
//! pipeline's exports.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanProcessor};

#[derive(Debug)]
pub(crate) struct FanOut(pub(crate) Vec<Box<dyn SpanProcessor>>);

impl SpanProcessor for FanOut {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        for processor in &self.0 {
            processor.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if let Some((last, others)) = self.0.split_last() {
            for processor in others {
                processor.on_end(span.clone());
            }
            last.on_end(span);
        }
    }

    /// Every processor is flushed; the first failure is reported.
    fn force_flush(&self) -> OTelSdkResult {
        self.0
            .iter()
            .map(|processor| processor.force_flush())
            .fold(Ok(()), Result::and)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0
            .iter()
            .map(|processor| processor.shutdown_with_timeout(timeout))
            .fold(Ok(()), Result::and)
    }

    fn set_resource(&mut self, resource: &Resource) {
        for processor in &mut self.0 {
            processor.set_resource(resource);
        }
    }
}
