//! One trace's spans, and the questions every report asks of them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;

/// The finished spans of one trace, ordered by start time.
#[derive(Clone, Debug)]
pub struct Trace {
    spans: Vec<SpanData>,
}

impl Trace {
    /// Groups `spans` (all of one trace) and orders them by start time.
    pub fn new(mut spans: Vec<SpanData>) -> Self {
        spans.sort_by_key(|span| span.start_time);
        Trace { spans }
    }

    /// The trace id (invalid for an empty trace).
    pub fn trace_id(&self) -> TraceId {
        self.spans
            .first()
            .map_or(TraceId::INVALID, |span| span.span_context.trace_id())
    }

    /// Every span, by start time.
    pub fn spans(&self) -> &[SpanData] {
        &self.spans
    }

    /// The spans whose parent is not in this trace, by start time: the root,
    /// and any span whose parent was not exported here (another service's,
    /// or one evicted or dropped).
    pub fn tops(&self) -> Vec<&SpanData> {
        let ids: HashSet<SpanId> = self
            .spans
            .iter()
            .map(|s| s.span_context.span_id())
            .collect();
        self.spans
            .iter()
            .filter(|span| !ids.contains(&span.parent_span_id))
            .collect()
    }

    /// The first top span: the local root of the trace.
    pub fn root(&self) -> Option<&SpanData> {
        self.tops().into_iter().next()
    }

    /// The children of a span, by start time.
    pub fn children(&self, span_id: SpanId) -> impl Iterator<Item = &SpanData> {
        self.spans.iter().filter(move |span| {
            span.parent_span_id == span_id && span.span_context.span_id() != span_id
        })
    }

    /// When the first span started.
    pub fn start(&self) -> Option<SystemTime> {
        self.spans.iter().map(|span| span.start_time).min()
    }

    /// When the last span ended.
    pub fn end(&self) -> Option<SystemTime> {
        self.spans.iter().map(|span| span.end_time).max()
    }

    /// From the first start to the last end.
    pub fn duration(&self) -> Duration {
        match (self.start(), self.end()) {
            (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    /// The slowest path: from the root, at each level the child that took
    /// longest, which is where a reader looks first for the time.
    pub fn slowest_path(&self) -> Vec<SpanId> {
        let mut by_parent: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
        for span in &self.spans {
            by_parent.entry(span.parent_span_id).or_default().push(span);
        }
        let mut path = Vec::new();
        let mut current = self.root();
        let mut seen = HashSet::new();
        while let Some(span) = current {
            let id = span.span_context.span_id();
            if !seen.insert(id) {
                break;
            }
            path.push(id);
            current = by_parent
                .get(&id)
                .and_then(|children| children.iter().max_by_key(|child| duration_of(child)))
                .copied();
        }
        path
    }
}

fn duration_of(span: &SpanData) -> Duration {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// A span of trace `trace`, id `id`, child of `parent` (0: none),
    /// from `id` ms to `id + 10` ms.
    pub(crate) fn span(trace: u128, id: u64, parent: u64) -> SpanData {
        timed(trace, id, parent, id * 10, id * 10 + 10, "span")
    }

    pub(crate) fn timed(
        trace: u128,
        id: u64,
        parent: u64,
        start_ms: u64,
        end_ms: u64,
        name: &'static str,
    ) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(name),
            start_time: UNIX_EPOCH + Duration::from_millis(start_ms),
            end_time: UNIX_EPOCH + Duration::from_millis(end_ms),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    #[test]
    fn the_slowest_path_follows_the_longest_child() {
        let trace = Trace::new(vec![
            timed(1, 1, 0, 0, 100, "root"),
            timed(1, 2, 1, 0, 20, "fast"),
            timed(1, 3, 1, 20, 85, "slow"),
            timed(1, 6, 1, 85, 95, "last"),
            timed(1, 4, 3, 30, 90, "slow.inner"),
            timed(1, 5, 3, 25, 40, "slow.quick"),
        ]);
        let path: Vec<u64> = trace
            .slowest_path()
            .iter()
            .map(|id| u64::from_be_bytes(id.to_bytes()))
            .collect();
        assert_eq!(path, [1, 3, 4]);
        assert_eq!(trace.duration(), Duration::from_millis(100));
        assert_eq!(trace.root().unwrap().name, "root");
    }
}
