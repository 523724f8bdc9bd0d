//! Head sampling of new traces.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use opentelemetry::trace::{Link, SpanContext, SpanKind, TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, Key, KeyValue, Value};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use crate::probability;

/// Decides whether a new trace is recorded.
///
/// By default head sampling is parent-based: a span with a sampled parent is
/// recorded, a span with an unsampled parent is not (and costs a few
/// nanoseconds), and the sampler decides for root spans only.
/// [`Pipeline::with_parent_based`](crate::Pipeline::with_parent_based)`(false)`
/// (or `OTEL_TRACES_SAMPLER=always_on` and friends) makes it decide for every
/// span.
///
/// The ratio rule is OpenTelemetry's consistent probability sampling (the
/// specification's "TraceState: Probability Sampling", which
/// opentelemetry-rust's own `TraceIdRatioBased` predates): the probability
/// becomes a 56-bit rejection threshold (4 significant hex digits), a trace
/// is kept when its randomness (`ot=rv:…` in the tracestate, otherwise the
/// trace id's low 56 bits) is at least the threshold, and a kept trace
/// carries the threshold as `ot=th:…` in its tracestate, so that every
/// service and collector downstream agrees and can count what each kept
/// trace stands for. Spans made through the plain OpenTelemetry API under a
/// spanflow pipeline get the same decisions.
///
/// ```
/// let sampler = spanflow::Sampler::ratio(0.25);
/// assert_eq!(sampler, spanflow::Sampler::Ratio(0.25));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Sampler {
    /// Record every new trace (the default).
    #[default]
    AlwaysOn,
    /// Record no new trace; contexts are still propagated, marked unsampled.
    AlwaysOff,
    /// Record this fraction of new traces, by consistent probability.
    Ratio(f64),
}

impl Sampler {
    /// Records a fraction of new traces; values outside `0.0..=1.0` are clamped
    /// (NaN counts as 0).
    pub fn ratio(fraction: f64) -> Self {
        Sampler::Ratio(if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        })
    }

    /// The rejection threshold, and whether kept traces carry it.
    fn threshold(self) -> (u64, bool) {
        match self {
            Sampler::AlwaysOn => (0, false),
            Sampler::AlwaysOff => (NEVER, false),
            // Zero is not a probability the specification can encode.
            Sampler::Ratio(f) if f.is_nan() || f <= 0.0 => (NEVER, false),
            Sampler::Ratio(f) => (probability::threshold(f), true),
        }
    }
}

/// Head-sampling rules for new traces: the first rule that matches the
/// root span decides, with its own sampler; a root no rule matches gets
/// the pipeline's sampler. Rules see the span's name and the attributes it
/// starts with: a `#[trace]` fn's name; the HTTP server layers'
/// `{method} {route}` with `http.request.method` and `http.route`, the HTTP
/// client's `{method}`; gRPC's `package.Service/Method` with `rpc.method`;
/// the Kafka adapter's `send {topic}`, `process {topic}` and `poll {topic}`
/// with `messaging.operation.name` and `messaging.destination.name`; the
/// actix adapter's `{Message} send`. Spans of your own get the same with
/// [`Span::with_parent_lazily_named`](crate::Span::with_parent_lazily_named).
///
/// Always `POST /checkout`, never `GET /health`, 1% of the rest:
///
/// ```
/// use spanflow::{Sampler, SamplingRules};
///
/// let pipeline = spanflow::Pipeline::new()
///     .with_sampler(Sampler::ratio(0.01))
///     .with_sampling_rules(
///         SamplingRules::new()
///             .name("POST /checkout", Sampler::AlwaysOn)
///             .route("/health", Sampler::AlwaysOff),
///     );
/// ```
#[derive(Clone, Debug, Default)]
pub struct SamplingRules {
    rules: Vec<(RuleMatch, Sampler)>,
}

#[derive(Clone, Debug)]
enum RuleMatch {
    Name(String),
    Attribute(Key, Value),
}

impl SamplingRules {
    /// No rules yet.
    pub fn new() -> Self {
        SamplingRules::default()
    }

    /// Roots named exactly `name` get `sampler`.
    pub fn name(mut self, name: impl Into<String>, sampler: Sampler) -> Self {
        self.rules.push((RuleMatch::Name(name.into()), sampler));
        self
    }

    /// Roots whose `http.route` is `route` get `sampler`.
    pub fn route(self, route: impl Into<String>, sampler: Sampler) -> Self {
        self.attribute("http.route", route.into(), sampler)
    }

    /// Roots that start with attribute `key` equal to `value` get
    /// `sampler`.
    pub fn attribute(
        mut self,
        key: impl Into<Key>,
        value: impl Into<Value>,
        sampler: Sampler,
    ) -> Self {
        self.rules
            .push((RuleMatch::Attribute(key.into(), value.into()), sampler));
        self
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// What head-sampling rules look at: the span about to start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hints<'a> {
    pub(crate) name: &'a str,
    pub(crate) attributes: &'a [KeyValue],
}

/// A rule ready for the start path: matcher, threshold, whether kept
/// traces carry it.
#[derive(Debug)]
struct CompiledRule {
    matches: RuleMatch,
    threshold: u64,
    writes_threshold: bool,
}

impl CompiledRule {
    fn matches(&self, hints: &Hints<'_>) -> bool {
        match &self.matches {
            RuleMatch::Name(name) => name == hints.name,
            RuleMatch::Attribute(key, value) => hints
                .attributes
                .iter()
                .any(|kv| kv.key == *key && kv.value == *value),
        }
    }
}

/// Above every 56-bit randomness value: nothing is kept.
const NEVER: u64 = u64::MAX;

/// The recorder's head sampler, changeable while the program runs, shared
/// with the SDK tracer provider the pipeline installs.
#[derive(Debug)]
pub(crate) struct RootSampler {
    threshold: AtomicU64,
    writes_threshold: AtomicBool,
    parent_based: AtomicBool,
    rules: Box<[CompiledRule]>,
}

impl RootSampler {
    pub(crate) fn new(sampler: Sampler, parent_based: bool) -> Self {
        let (threshold, writes_threshold) = sampler.threshold();
        RootSampler {
            threshold: AtomicU64::new(threshold),
            writes_threshold: AtomicBool::new(writes_threshold),
            parent_based: AtomicBool::new(parent_based),
            rules: Box::new([]),
        }
    }

    /// With head-sampling rules, fixed for the pipeline's life.
    pub(crate) fn with_rules(mut self, rules: SamplingRules) -> Self {
        self.rules = rules
            .rules
            .into_iter()
            .map(|(matches, sampler)| {
                let (threshold, writes_threshold) = sampler.threshold();
                CompiledRule {
                    matches,
                    threshold,
                    writes_threshold,
                }
            })
            .collect();
        self
    }

    /// Whether decisions depend on the span (so its name must be known).
    #[inline]
    pub(crate) fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// [`RootSampler::decide`], by the first rule that matches `hints`.
    pub(crate) fn decide_for(
        &self,
        trace_id: TraceId,
        trace_state: &TraceState,
        hints: &Hints<'_>,
    ) -> Option<TraceState> {
        match self.rules.iter().find(|rule| rule.matches(hints)) {
            Some(rule) => decide_by(rule.threshold, rule.writes_threshold, trace_id, trace_state),
            None => self.decide(trace_id, trace_state),
        }
    }

    pub(crate) fn set(&self, sampler: Sampler, parent_based: bool) {
        let (threshold, writes_threshold) = sampler.threshold();
        self.threshold.store(threshold, Ordering::Relaxed);
        self.writes_threshold
            .store(writes_threshold, Ordering::Relaxed);
        self.parent_based.store(parent_based, Ordering::Relaxed);
    }

    /// Whether a span with a parent follows the parent's decision (the
    /// default); otherwise the sampler decides for every span.
    #[inline]
    pub(crate) fn parent_based(&self) -> bool {
        self.parent_based.load(Ordering::Relaxed)
    }

    /// The decision for a trace whose randomness comes from `trace_id` and
    /// `trace_state`: `None` to drop it, or the trace state its sampled
    /// span carries (with `ot=th` when the rule is a probability).
    #[inline]
    pub(crate) fn decide(&self, trace_id: TraceId, trace_state: &TraceState) -> Option<TraceState> {
        decide_by(
            self.threshold.load(Ordering::Relaxed),
            self.writes_threshold.load(Ordering::Relaxed),
            trace_id,
            trace_state,
        )
    }
}

#[inline]
fn decide_by(
    threshold: u64,
    writes_threshold: bool,
    trace_id: TraceId,
    trace_state: &TraceState,
) -> Option<TraceState> {
    match threshold {
        0 if !writes_threshold => Some(trace_state.clone()),
        NEVER => None,
        threshold => (probability::randomness(trace_id, trace_state) >= threshold)
            .then(|| probability::with_threshold(trace_state, threshold)),
    }
}

/// The pipeline's sampler for spans made through the OpenTelemetry API (the
/// installed `SdkTracerProvider`): the same rule and the same decisions as
/// spanflow's own spans, following changes made with
/// [`PipelineGuard::set_sampler`](crate::PipelineGuard::set_sampler).
#[derive(Clone, Debug)]
pub(crate) struct SdkSampler(pub(crate) Arc<RootSampler>);

impl ShouldSample for SdkSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        _span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let hints = Hints { name, attributes };
        let parent = parent_context
            .map(|context| context.span().span_context().clone())
            .filter(SpanContext::is_valid);
        let decision = match &parent {
            Some(parent) if self.0.parent_based() => parent.is_sampled().then(|| {
                parent
                    .is_remote()
                    .then(|| {
                        probability::erase_inconsistent_threshold(
                            parent.trace_id(),
                            parent.trace_state(),
                        )
                    })
                    .flatten()
                    .unwrap_or_else(|| parent.trace_state().clone())
            }),
            Some(parent) => self.0.decide_for(trace_id, parent.trace_state(), &hints),
            None => self.0.decide_for(trace_id, &TraceState::NONE, &hints),
        };
        let fallback = || {
            parent
                .as_ref()
                .map_or(TraceState::NONE, |parent| parent.trace_state().clone())
        };
        match decision {
            Some(trace_state) => SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state,
            },
            None => SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: fallback(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(sampler: &RootSampler, trace_id: u128) -> bool {
        sampler
            .decide(TraceId::from(trace_id), &TraceState::NONE)
            .is_some()
    }

    /// Decisions by the specification's formula: keep when the trace id's
    /// low 56 bits are at least the threshold (0.5 → 0x80000000000000,
    /// 0.01 → 0xfd70a000000000).
    #[test]
    fn ratio_decisions_follow_the_specification() {
        let half = RootSampler::new(Sampler::ratio(0.5), true);
        let table = [
            (0x0000_0000_0000_0000_0080_0000_0000_0000_u128, true),
            (0x0000_0000_0000_0000_007f_ffff_ffff_ffff, false),
            (0xffff_ffff_ffff_ffff_ff7f_ffff_ffff_ffff, false),
            (0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c, false),
            (0x0af7_6519_16cd_43dd_84c8_eb21_1c80_319c, true),
        ];
        for (trace_id, keep) in table {
            assert_eq!(sampled(&half, trace_id), keep, "{trace_id:032x}");
        }
        let one_percent = RootSampler::new(Sampler::ratio(0.01), true);
        assert!(sampled(&one_percent, 0x00fd_70a0_0000_0000));
        assert!(!sampled(&one_percent, 0x00fd_709f_ffff_ffff));
        let kept = one_percent
            .decide(TraceId::from(0x00ff_0000_0000_0000_u128), &TraceState::NONE)
            .unwrap();
        assert_eq!(kept.header(), "ot=th:fd70a");
    }

    #[test]
    fn always_on_writes_no_threshold_and_off_keeps_nothing() {
        let on = RootSampler::new(Sampler::AlwaysOn, true);
        assert_eq!(
            on.decide(TraceId::from(1u128), &TraceState::NONE),
            Some(TraceState::NONE)
        );
        let off = RootSampler::new(Sampler::ratio(f64::NAN), true);
        assert!(!sampled(&off, u128::MAX));
        let all = RootSampler::new(Sampler::ratio(1.0), true);
        assert_eq!(
            all.decide(TraceId::from(0u128), &TraceState::NONE)
                .unwrap()
                .header(),
            "ot=th:0"
        );
    }

    #[test]
    fn an_explicit_rv_decides_instead_of_the_trace_id() {
        let half = RootSampler::new(Sampler::ratio(0.5), true);
        let low = TraceState::from_key_value([("ot", "rv:00000000000001")]).unwrap();
        assert!(half.decide(TraceId::from(u128::MAX), &low).is_none());
        let high = TraceState::from_key_value([("ot", "rv:ffffffffffffff")]).unwrap();
        let kept = half.decide(TraceId::from(0u128), &high).unwrap();
        assert_eq!(kept.header(), "ot=th:8;rv:ffffffffffffff");
    }
}
