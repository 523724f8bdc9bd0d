//! The span OpenTelemetry's API sees as active inside a spanflow span, when
//! the pipeline makes it writable
//! ([`Pipeline::with_writable_active_span`](crate::Pipeline::with_writable_active_span)).
//!
//! By default a spanflow span is in its `Context` as a span context alone:
//! OpenTelemetry's `Context` allocates once for it, and the API's
//! `get_active_span(|span| span.set_attribute(..))` does nothing there, as
//! for a remote parent. Code that already writes to the active span that
//! way (helpers shared with services on the SDK, libraries that enrich the
//! current span) can ask for this span instead: it costs a second
//! allocation per sampled span (the API boxes any span it holds) and a
//! second copy of a `tracestate` when the trace has one, and what
//! is written to it reaches the spanflow span through the same hand-off as
//! [`crate::current`]: directly while it is the innermost one whose work
//! runs on the writing thread (a `#[trace]` fn's body, a traced future's
//! polls, `Span::in_scope`); through the collector anywhere else (the
//! `Context` held while a child runs, sent to another thread), where a
//! write made after the span ended is dropped. `is_recording` is true only
//! where a write lands surely (the records are not shared, so nothing here
//! knows whether the span has ended yet).

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Event, Link, SpanContext, Status};

use crate::current::{self, Addition};

/// A sampled spanflow span's stand-in in its `Context`.
#[derive(Debug)]
pub(crate) struct ActiveSpan {
    span_context: SpanContext,
}

impl ActiveSpan {
    pub(crate) fn new(span_context: SpanContext) -> ActiveSpan {
        ActiveSpan { span_context }
    }

    fn add(&self, addition: Addition) {
        current::add_to(self.span_context.span_id(), addition);
    }
}

impl opentelemetry::trace::Span for ActiveSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.add(Addition::Event(Event::new(name, timestamp, attributes, 0)));
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    /// True while what is written surely reaches the span: its work is
    /// running on this thread. Elsewhere a write still lands if the span
    /// has not ended.
    fn is_recording(&self) -> bool {
        current::is_entered(self.span_context.span_id())
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.add(Addition::Attribute(attribute));
    }

    fn set_status(&mut self, status: Status) {
        self.add(Addition::Status(status));
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.add(Addition::Name(new_name.into()));
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if span_context.is_valid() {
            self.add(Addition::Link(Link::new(span_context, attributes, 0)));
        }
    }

    /// spanflow ends its spans itself, when their fn returns or their
    /// future completes or is dropped.
    fn end_with_timestamp(&mut self, _timestamp: SystemTime) {}
}
