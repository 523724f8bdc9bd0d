//! The rules that decide which buffered traces are kept.

use std::borrow::Cow;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanId, Status, TraceId, TraceState};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::probability;

/// One trace's spans as buffered when it is decided: complete when its
/// local root ended (and stragglers were waited for), partial when it was
/// decided at its deadline or evicted early.
#[derive(Debug)]
pub struct TraceView<'a> {
    spans: &'a [SpanData],
    root: Option<&'a SpanData>,
}

impl<'a> TraceView<'a> {
    pub(crate) fn new(spans: &'a [SpanData]) -> Self {
        // The true root (no parent) wins over a local root whose parent is
        // in another process.
        let root = spans
            .iter()
            .find(|span| span.parent_span_id == SpanId::INVALID)
            .or_else(|| spans.iter().find(|span| span.parent_span_is_remote));
        TraceView { spans, root }
    }

    /// The trace's id.
    pub fn trace_id(&self) -> TraceId {
        self.spans
            .first()
            .map_or(TraceId::INVALID, |span| span.span_context.trace_id())
    }

    /// Every buffered span of the trace.
    pub fn spans(&self) -> &'a [SpanData] {
        self.spans
    }

    /// The trace's root in this process, if it has ended.
    pub fn root(&self) -> Option<&'a SpanData> {
        self.root
    }

    /// From the earliest start to the latest end of the buffered spans.
    pub fn duration(&self) -> Duration {
        let start = self.spans.iter().map(|span| span.start_time).min();
        let end = self.spans.iter().map(|span| span.end_time).max();
        match (start, end) {
            (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    fn trace_state(&self) -> &'a TraceState {
        self.root
            .or(self.spans.first())
            .map_or(&TraceState::NONE, |span| span.span_context.trace_state())
    }
}

/// What [`Policy::attribute`] compares a span attribute with.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeMatch {
    /// Equal to one of these strings.
    Strings(Vec<String>),
    /// An integer within `min..=max`.
    IntRange(i64, i64),
    /// A float within `min..=max`.
    FloatRange(f64, f64),
    /// This boolean.
    Bool(bool),
}

impl AttributeMatch {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (AttributeMatch::Strings(wanted), Value::String(text)) => {
                wanted.iter().any(|wanted| wanted == text.as_str())
            }
            (AttributeMatch::IntRange(min, max), Value::I64(number)) => {
                (min..=max).contains(&number)
            }
            (AttributeMatch::FloatRange(min, max), Value::F64(number)) => {
                (min..=max).contains(&number)
            }
            (AttributeMatch::FloatRange(min, max), Value::I64(number)) => {
                (min..=max).contains(&&(*number as f64))
            }
            (AttributeMatch::Bool(wanted), Value::Bool(flag)) => wanted == flag,
            _ => false,
        }
    }
}

/// Which duration [`Policy::latency`] measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyOf {
    /// The local root span (the request as this service served it); the
    /// whole trace when the root has not ended.
    Root,
    /// From the earliest start to the latest end of the buffered spans.
    Trace,
}

/// A rule over a whole trace: keep it or not.
///
/// Policies compose: [`Policy::any_of`] keeps a trace when the first of its
/// policies in order keeps it (so later stateful policies, such as a rate
/// limit, are not charged), [`Policy::all_of`] when every one does,
/// [`Policy::budgeted`] when the first matching policy still has room in
/// its own spans-per-second budget.
///
/// The seed's set, as one piece of configuration:
///
/// ```
/// use std::time::Duration;
/// use spanflow::tail::Policy;
///
/// let policy = Policy::any_of([
///     Policy::errors(),
///     Policy::warnings(),
///     Policy::latency_over(Duration::from_secs(1)),
///     Policy::probability(0.001),
/// ]);
/// ```
#[derive(Debug)]
pub struct Policy(Rule);

#[derive(Debug)]
enum Rule {
    Errors,
    Warnings(Option<(Key, Value)>),
    Latency(Duration, LatencyOf),
    SpanCount(usize, usize),
    Attribute(Key, AttributeMatch),
    Probability(u64),
    RateLimit(TokenBucket),
    Not(Box<Policy>),
    AnyOf(Vec<Policy>),
    AllOf(Vec<Policy>),
    Budgeted(Vec<(Policy, TokenBucket)>),
}

/// Event attributes that carry a log level, as log bridges write them.
const LEVEL_KEYS: [&str; 4] = ["level", "log.level", "severity_text", "log.severity"];

impl Policy {
    /// Traces with a failed span: status Error, or an `exception` event.
    pub fn errors() -> Policy {
        Policy(Rule::Errors)
    }

    /// Traces with a warning or worse: a span event whose level attribute
    /// (`level`, `log.level`, `severity_text` or `log.severity`) is `WARN`,
    /// `WARNING`, `ERROR`, `FATAL` or `CRITICAL` (any case), as
    /// [`spanflow::logs`](crate::logs) and other log bridges record log
    /// lines on spans.
    pub fn warnings() -> Policy {
        Policy(Rule::Warnings(None))
    }

    /// [`Policy::warnings`], or a span attribute `key` equal to `value`
    /// (for code that marks degraded work with an attribute).
    pub fn warnings_or_attribute(key: impl Into<Key>, value: impl Into<Value>) -> Policy {
        Policy(Rule::Warnings(Some((key.into(), value.into()))))
    }

    /// Traces whose local root took longer than `threshold`.
    pub fn latency_over(threshold: Duration) -> Policy {
        Policy::latency(threshold, LatencyOf::Root)
    }

    /// Traces whose root, or whole trace, took longer than `threshold`.
    pub fn latency(threshold: Duration, of: LatencyOf) -> Policy {
        Policy(Rule::Latency(threshold, of))
    }

    /// Traces with between `min` and `max` buffered spans (inclusive).
    pub fn span_count(min: usize, max: usize) -> Policy {
        Policy(Rule::SpanCount(min, max))
    }

    /// Traces with a span whose attribute `key` matches.
    pub fn attribute(key: impl Into<Key>, matches: AttributeMatch) -> Policy {
        Policy(Rule::Attribute(key.into(), matches))
    }

    /// This fraction of traces, by consistent probability: the same traces
    /// that a head sampler at `probability` keeps (`ot=rv` or the trace
    /// id's low 56 bits against the specification's threshold). Zero (or
    /// NaN) keeps none.
    pub fn probability(probability: f64) -> Policy {
        let threshold = if probability.is_nan() || probability <= 0.0 {
            u64::MAX
        } else {
            probability::threshold(probability)
        };
        Policy(Rule::Probability(threshold))
    }

    /// Traces while their spans stay within `spans_per_second` (a token
    /// bucket holding one second's worth).
    pub fn rate_limit(spans_per_second: u64) -> Policy {
        Policy(Rule::RateLimit(TokenBucket::new(spans_per_second)))
    }

    /// The opposite decision.
    pub fn invert(self) -> Policy {
        Policy(Rule::Not(Box::new(self)))
    }

    /// Keeps a trace when the first of `policies` that keeps it does.
    pub fn any_of(policies: impl IntoIterator<Item = Policy>) -> Policy {
        Policy(Rule::AnyOf(policies.into_iter().collect()))
    }

    /// Keeps a trace when every one of `policies` does.
    pub fn all_of(policies: impl IntoIterator<Item = Policy>) -> Policy {
        Policy(Rule::AllOf(policies.into_iter().collect()))
    }

    /// Each policy with its own budget of spans per second: a trace is kept
    /// by the first policy that keeps it and still has room for its spans.
    pub fn budgeted(policies: impl IntoIterator<Item = (Policy, u64)>) -> Policy {
        Policy(Rule::Budgeted(
            policies
                .into_iter()
                .map(|(policy, spans_per_second)| (policy, TokenBucket::new(spans_per_second)))
                .collect(),
        ))
    }

    /// Whether to keep `trace`, at `now`.
    pub(crate) fn keeps(&mut self, trace: &TraceView<'_>, now: Instant) -> bool {
        match &mut self.0 {
            Rule::Errors => trace.spans.iter().any(failed),
            Rule::Warnings(attribute) => trace.spans.iter().any(|span| {
                span.events.iter().any(|event| {
                    event.attributes.iter().any(|kv| {
                        LEVEL_KEYS.contains(&kv.key.as_str()) && is_warning_level(&kv.value)
                    })
                }) || attribute.as_ref().is_some_and(|(key, value)| {
                    span.attributes
                        .iter()
                        .any(|kv| kv.key == *key && kv.value == *value)
                })
            }),
            Rule::Latency(threshold, of) => {
                let took = match (of, trace.root) {
                    (LatencyOf::Root, Some(root)) => elapsed(root.start_time, root.end_time),
                    _ => trace.duration(),
                };
                took > *threshold
            }
            Rule::SpanCount(min, max) => (*min..=*max).contains(&trace.spans.len()),
            Rule::Attribute(key, matcher) => trace.spans.iter().any(|span| {
                span.attributes
                    .iter()
                    .any(|kv| kv.key == *key && matcher.matches(&kv.value))
            }),
            Rule::Probability(threshold) => {
                probability::randomness(trace.trace_id(), trace.trace_state()) >= *threshold
            }
            Rule::RateLimit(bucket) => bucket.take(trace.spans.len() as u64, now),
            Rule::Not(policy) => !policy.keeps(trace, now),
            Rule::AnyOf(policies) => policies.iter_mut().any(|policy| policy.keeps(trace, now)),
            Rule::AllOf(policies) => policies.iter_mut().all(|policy| policy.keeps(trace, now)),
            Rule::Budgeted(policies) => policies.iter_mut().any(|(policy, bucket)| {
                policy.keeps(trace, now) && bucket.take(trace.spans.len() as u64, now)
            }),
        }
    }
}

fn failed(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
        || span.events.iter().any(|event| event.name == "exception")
}

fn is_warning_level(value: &Value) -> bool {
    let text: Cow<'_, str> = match value {
        Value::String(text) => Cow::Borrowed(text.as_str()),
        _ => return false,
    };
    ["warn", "warning", "error", "fatal", "critical"]
        .iter()
        .any(|level| text.eq_ignore_ascii_case(level))
}

fn elapsed(start: SystemTime, end: SystemTime) -> Duration {
    end.duration_since(start).unwrap_or_default()
}

/// Spans per second, refilled continuously, holding at most one second's
/// worth.
#[derive(Debug)]
struct TokenBucket {
    rate: u64,
    tokens: f64,
    refilled: Option<Instant>,
}

impl TokenBucket {
    fn new(rate: u64) -> Self {
        TokenBucket {
            rate,
            tokens: rate as f64,
            refilled: None,
        }
    }

    fn take(&mut self, spans: u64, now: Instant) -> bool {
        if let Some(refilled) = self.refilled {
            let seconds = now.saturating_duration_since(refilled).as_secs_f64();
            self.tokens = (self.tokens + seconds * self.rate as f64).min(self.rate as f64);
        }
        self.refilled = Some(now);
        if self.tokens >= spans as f64 {
            self.tokens -= spans as f64;
            true
        } else {
            false
        }
    }
}
