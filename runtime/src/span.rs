//! Starting and ending spans.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::mem::ManuallyDrop;

use opentelemetry::trace::{
    Event, Link, SpanBuilder, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer,
};
use opentelemetry::{Context, ContextGuard, KeyValue, Value};

use crate::attributes;
use crate::callsite::CallSite;
use crate::clock;
use crate::collector::Collector;
use crate::context::Parent;
use crate::identifying::Identifying;
use crate::ids::{new_span_id, new_trace_id};
use crate::propagation::RANDOM_FLAG;
use crate::record::{FutureClocks, SpanRecord};
use crate::recorder::{self, Backend, Recorder, TracerSource};
use crate::sampler::Hints;

/// A started span.
///
/// A `Span` ends exactly once: explicitly with [`Span::end`], or when it is
/// dropped. `#[trace]` makes and ends spans for you; use `Span` directly (via
/// [`span!`](crate::span!)) for work that is not one fn call.
///
/// Making a span *current* is separate from starting it: [`Span::in_scope`]
/// for a closure, [`Traced`](crate::Traced) for a future.
///
/// A span that is not recording (nothing installed, or the trace is not
/// sampled) costs nothing more than this struct; every method is then a no-op.
#[must_use = "a span ends when dropped; keep it for the work it measures"]
pub struct Span {
    /// The context that makes this span current. `None` when starting the
    /// span left the current context as it was (nothing installed, or the
    /// parent is unsampled).
    context: Option<Context>,
    recording: Option<Recording>,
}

enum Recording {
    /// A recycled box (see `collector`): moving the span moves a pointer.
    /// It leaves only through `Span::end_at` (to the collector) or
    /// `Span::discard`, which take it out of the `ManuallyDrop`; so no drop
    /// of a `Span` carries the record's drop glue, which grew out of line
    /// with the record and cost every sampled span a call (callgrind: 9.5
    /// instructions a span).
    Fast(ManuallyDrop<Box<SpanRecord>>),
    Api,
}

impl Span {
    /// A span that records nothing and changes no context.
    pub const fn none() -> Span {
        Span {
            context: None,
            recording: None,
        }
    }

    /// A non-recording span that makes `context` current wherever the span is
    /// entered: the building block for carrying a context across a boundary.
    pub fn from_context(context: Context) -> Span {
        Span {
            context: Some(context),
            recording: None,
        }
    }

    /// Starts a span for `callsite` (see [`callsite!`](crate::callsite!))
    /// under the current context: for adapters and hand-made spans.
    #[inline]
    pub fn new(callsite: &'static CallSite) -> Span {
        Span::start_under_current(callsite, None)
    }

    /// Starts a span for `callsite` under an explicit parent (a remote
    /// context extracted from a request, say); `None` starts a new trace.
    pub fn with_parent(callsite: &'static CallSite, parent: impl crate::ParentContext) -> Span {
        Span::start_under(callsite, None, parent.into_parent())
    }

    /// Starts a span under an explicit parent with its name and first
    /// attributes known at its start, so that head-sampling rules
    /// ([`SamplingRules`](crate::SamplingRules)) can match them (see
    /// [`Span::with_parent_lazily_named`] to build them only when needed).
    pub fn with_parent_named(
        callsite: &'static CallSite,
        parent: impl crate::ParentContext,
        name: impl Into<Cow<'static, str>>,
        attributes: impl Identifying,
    ) -> Span {
        let parent = parent.into_parent();
        start_named(callsite, &parent.base, parent.remote.as_ref(), true, || {
            (name.into(), attributes)
        })
    }

    /// [`Span::with_parent_named`] for a name and attributes that cost
    /// something to build (a `format!`, an owned topic): `identify` runs
    /// only when a sampling rule has to see them or the span records, so an
    /// unsampled message or request builds nothing. What the HTTP server
    /// layers (`{method} {route}`) and the Kafka consumer (`process
    /// {topic}`, under the producer's context) use. A name repeated for
    /// every message costs nothing per span once kept by
    /// [`interned_name`](crate::interned_name) (look it up once per topic,
    /// not per message), and an array of attributes allocates no list.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    ///
    /// let topic = "orders";
    /// let producer = opentelemetry::Context::new(); // extracted from the message
    /// let span = spanflow::Span::with_parent_lazily_named(
    ///     spanflow::callsite!("process", kind = consumer),
    ///     producer,
    ///     || {
    ///         let name = format!("process {topic}");
    ///         (name.into(), [KeyValue::new("messaging.destination.name", topic)])
    ///     },
    /// );
    /// # drop(span);
    /// ```
    pub fn with_parent_lazily_named<A: Identifying>(
        callsite: &'static CallSite,
        parent: impl crate::ParentContext,
        identify: impl FnOnce() -> (Cow<'static, str>, A),
    ) -> Span {
        let parent = parent.into_parent();
        start_named(
            callsite,
            &parent.base,
            parent.remote.as_ref(),
            true,
            identify,
        )
    }

    /// [`Span::with_parent_lazily_named`] under the current context, as
    /// [`Span::new`]: what the Kafka producer's `send {topic}` uses.
    pub fn lazily_named<A: Identifying>(
        callsite: &'static CallSite,
        identify: impl FnOnce() -> (Cow<'static, str>, A),
    ) -> Span {
        start_named(callsite, &Context::current(), None, false, identify)
    }

    /// Starts a span for `callsite` under the current context (support API
    /// for `#[trace]` and `span!`). Each kind of parent has its own start
    /// function: an enum of them, kept in memory and matched twice, was a
    /// fifth of a child of an unsampled parent's instructions (callgrind).
    #[doc(hidden)]
    #[inline]
    pub fn start_under_current(
        callsite: &'static CallSite,
        self_type: Option<fn() -> &'static str>,
    ) -> Span {
        let Some(recorder) = recorder::get() else {
            return Span::none();
        };
        // A tiny closure that inlines, so that a child of an unsampled
        // parent costs a thread-local read, not a call into the start path
        // (13 ns -> see BENCHMARKS.md).
        let unsampled_parent = Context::map_current(|current| {
            let parent = current.span();
            let parent = parent.span_context();
            parent.is_valid() && !parent.is_sampled()
        });
        if unsampled_parent && recorder.sampler.parent_based() {
            return Span::none();
        }
        start_current(recorder, callsite, self_type)
    }

    /// Starts a span for `callsite` under `parent` (support API).
    #[doc(hidden)]
    #[inline]
    pub fn start_under(
        callsite: &'static CallSite,
        self_type: Option<fn() -> &'static str>,
        parent: Parent,
    ) -> Span {
        let Some(recorder) = recorder::get() else {
            return Span::none();
        };
        start_in(
            recorder,
            callsite,
            self_type,
            &parent.base,
            parent.remote.as_ref(),
            false,
            true,
            None,
        )
    }

    /// Starts the root span of a new trace for `callsite`, linked to the
    /// current span if there is one (support API).
    #[doc(hidden)]
    #[inline]
    pub fn start_root(
        callsite: &'static CallSite,
        self_type: Option<fn() -> &'static str>,
    ) -> Span {
        let Some(recorder) = recorder::get() else {
            return Span::none();
        };
        Context::map_current(|current| {
            start_in(
                recorder, callsite, self_type, current, None, true, false, None,
            )
        })
    }

    /// Neither recorded nor carrying a context of its own: the caller's
    /// context stays current.
    #[inline]
    pub(crate) fn is_none(&self) -> bool {
        self.recording.is_none() && self.context.is_none()
    }

    /// Whether this span is recorded (sampled, with a recorder installed).
    /// Attribute expressions of `#[trace(fields(...))]` are evaluated only then.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// The context that makes this span current, if it differs from the
    /// caller's.
    pub fn context(&self) -> Option<&Context> {
        self.context.as_ref()
    }

    /// This span's context (invalid when the span is not recording).
    pub fn span_context(&self) -> SpanContext {
        match &self.recording {
            Some(Recording::Fast(record)) => record.span_context(),
            Some(Recording::Api) | None => self
                .context
                .as_ref()
                .map(|cx| cx.span().span_context().clone())
                .unwrap_or_else(SpanContext::empty_context),
        }
    }

    /// When a span recorded by spanflow started, in clock ticks.
    #[inline]
    pub(crate) fn start_ticks(&self) -> Option<clock::Ticks> {
        match &self.recording {
            Some(Recording::Fast(record)) => Some(record.start),
            _ => None,
        }
    }

    /// Enters this span's record as the thread's current spanflow span
    /// while its work runs (see `current`).
    #[inline]
    pub(crate) fn enter_record(&self) -> Option<crate::current::Entered> {
        match &self.recording {
            Some(Recording::Fast(record)) => Some(crate::current::Entered::new(record.span_id)),
            _ => None,
        }
    }

    /// Ends [`Span::enter_record`], taking in what was added meanwhile.
    #[inline]
    pub(crate) fn leave_record(&mut self, entered: Option<crate::current::Entered>) {
        if let (Some(entered), Some(Recording::Fast(record))) = (entered, &mut self.recording) {
            entered.leave(record);
        }
    }

    /// The context to attach while the span's work runs. A span recorded by
    /// spanflow does not need its context after that, so it gives it up
    /// instead of paying for a clone.
    #[inline]
    pub(crate) fn context_for_scope(&mut self) -> Option<Context> {
        match self.recording {
            Some(Recording::Api) => self.context.clone(),
            Some(Recording::Fast(_)) | None => self.context.take(),
        }
    }

    /// Runs `f` with this span's context current, restoring the previous
    /// context afterwards (also when `f` panics). What `f` adds to the
    /// current span without a handle on it (log lines through spanflow's
    /// bridges, [`current::add_event`](crate::current::add_event)) lands on
    /// this span, as in a `#[trace]` fn's body.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// Makes this span current, and entered as [`Span::in_scope`] does,
    /// until the guard is dropped: the form `tracing`'s `span.enter()` has,
    /// for sync code.
    ///
    /// The guard cannot cross threads, so a future holding it across an
    /// `.await` cannot be spawned; in async code use
    /// [`TracedExt::in_span`](crate::TracedExt::in_span), which makes the
    /// span current on every poll instead.
    ///
    /// ```
    /// let mut span = spanflow::span!("reconcile");
    /// {
    ///     let _entered = span.enter();
    ///     spanflow::current::add_event("step", Vec::new());
    /// }
    /// span.end();
    /// ```
    pub fn enter(&mut self) -> SpanGuard<'_> {
        let attached = self.context.clone().map(Context::attach);
        let entered = self.enter_record();
        SpanGuard {
            span: self,
            entered,
            _attached: attached,
        }
    }

    /// Sets an attribute (overwriting nothing: OpenTelemetry keeps the last
    /// value of a repeated key).
    pub fn set_attribute(&mut self, attribute: KeyValue) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.add_attribute(attribute, &recorder::limits()),
            Some(Recording::Api) => self.api_span(|span| span.set_attribute(attribute)),
            None => {}
        }
    }

    /// Sets an attribute in place of the value already set for its key (a
    /// value learnt late that corrects one given at the start), or adds it
    /// as [`set_attribute`](Self::set_attribute) does when the key has
    /// none. A span made through the OpenTelemetry API (see
    /// [`Pipeline::with_writable_active_span`](crate::Pipeline::with_writable_active_span))
    /// cannot replace: it adds the value, and the last one counts.
    pub fn replace_attribute(&mut self, attribute: KeyValue) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => {
                record.replace_attribute(attribute, &recorder::limits());
            }
            Some(Recording::Api) => self.api_span(|span| span.set_attribute(attribute)),
            None => {}
        }
    }

    /// Renames the span (an HTTP server span learns its route late, say).
    pub fn update_name(&mut self, name: impl Into<Cow<'static, str>>) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.name = Some(name.into()),
            Some(Recording::Api) => {
                let name = name.into();
                self.api_span(|span| span.update_name(name));
            }
            None => {}
        }
    }

    /// The span context to send downstream with an outgoing request: this
    /// span's when it has one, otherwise a fresh span id in the current
    /// trace (W3C wants a new parent id per request, sampled or not); `None`
    /// when there is no trace at all.
    pub fn outgoing_span_context(&self) -> Option<SpanContext> {
        let own = self.span_context();
        if own.is_valid() {
            return Some(own);
        }
        let current = Context::map_current(|cx| cx.span().span_context().clone());
        current.is_valid().then(|| {
            SpanContext::new(
                current.trace_id(),
                new_span_id(),
                current.trace_flags(),
                false,
                current.trace_state().clone(),
            )
        })
    }

    /// The context to inject into an outgoing request or message: this
    /// span's when it is recorded, otherwise the current context carrying
    /// [`Span::outgoing_span_context`] (so an unsampled trace still sends its
    /// trace id with sampled=0), or the current context when there is no
    /// trace at all.
    pub fn outgoing_context(&self) -> Context {
        match (self.context(), self.outgoing_span_context()) {
            (Some(context), _) => context.clone(),
            (None, Some(span_context)) => Context::current().with_remote_span_context(span_context),
            (None, None) => Context::current(),
        }
    }

    /// Sets the status, as the specification asks: an `Ok` status is final,
    /// and `Unset` changes nothing.
    pub fn set_status(&mut self, status: Status) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.set_status(status),
            Some(Recording::Api) => self.api_span(|span| span.set_status(status)),
            None => {}
        }
    }

    /// Adds an event with the current time.
    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.add_event_at(
                clock::now(),
                Event::new(name, std::time::SystemTime::UNIX_EPOCH, attributes, 0),
                &recorder::limits(),
            ),
            Some(Recording::Api) => self.api_span(|span| span.add_event(name, attributes)),
            None => {}
        }
    }

    /// Links another span to this one.
    pub fn add_link(&mut self, span_context: SpanContext) {
        if !span_context.is_valid() {
            return;
        }
        match &mut self.recording {
            Some(Recording::Fast(record)) => {
                record.add_link(Link::with_context(span_context), &recorder::limits());
            }
            Some(Recording::Api) => self.api_span(|span| span.add_link(span_context, Vec::new())),
            None => {}
        }
    }

    /// Marks the span failed: status Error with `message`, and an `exception`
    /// event with `exception.type` and `exception.message`.
    pub fn record_error(&mut self, error_type: &'static str, message: String) {
        if !self.is_recording() {
            return;
        }
        self.add_event(
            attributes::EXCEPTION_EVENT,
            vec![
                KeyValue::new(attributes::EXCEPTION_TYPE, error_type),
                KeyValue::new(attributes::EXCEPTION_MESSAGE, message.clone()),
            ],
        );
        self.set_status(Status::error(message));
    }

    /// Records a panic payload as an error.
    pub(crate) fn record_panic(&mut self, payload: &(dyn Any + Send)) {
        if !self.is_recording() {
            return;
        }
        let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
            (*text).to_owned()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "panic with a non-string payload".to_owned()
        };
        self.record_error("panic", message);
    }

    /// Records a future's clocks; `end` is the span's end reading, which
    /// an API span needs now (spanflow's records convert them later).
    pub(crate) fn set_clocks(&mut self, clocks: FutureClocks, end: clock::Ticks) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.clocks = Some(clocks),
            Some(Recording::Api) => {
                let timing = clocks.timing(end);
                let values = [
                    (attributes::QUEUED_NS, timing.queued_ns),
                    (attributes::BUSY_NS, timing.busy_ns),
                    (attributes::IDLE_NS, timing.idle_ns),
                    (attributes::POLLS, timing.polls),
                ];
                self.api_span(|span| {
                    for (key, value) in values {
                        span.set_attribute(KeyValue::new(
                            key,
                            i64::try_from(value).unwrap_or(i64::MAX),
                        ));
                    }
                });
            }
            None => {}
        }
    }

    pub(crate) fn mark_cancelled(&mut self) {
        match &mut self.recording {
            Some(Recording::Fast(record)) => record.cancelled = true,
            Some(Recording::Api) => {
                self.api_span(|span| span.set_attribute(KeyValue::new(attributes::CANCELLED, true)))
            }
            None => {}
        }
    }

    /// Ends the span now. Later calls, and the drop, do nothing.
    pub fn end(&mut self) {
        self.end_at(clock::now());
    }

    /// Ends the span at a clock reading the caller already has.
    pub(crate) fn end_at(&mut self, now: clock::Ticks) {
        match self.recording.take() {
            Some(Recording::Fast(record)) => {
                let mut record = ManuallyDrop::into_inner(record);
                record.end = now;
                if let Some(Recorder {
                    backend: Backend::Fast(collector),
                    ..
                }) = recorder::get()
                {
                    collector.submit(record);
                }
            }
            Some(Recording::Api) => {
                if let Some(cx) = &self.context {
                    cx.span().end();
                }
            }
            None => {}
        }
    }

    /// Drops the span without exporting it (a span opened speculatively).
    pub(crate) fn discard(mut self) {
        match self.recording.take() {
            Some(Recording::Fast(record)) => drop(ManuallyDrop::into_inner(record)),
            // An API span cannot be unrecorded; end it like any other.
            Some(Recording::Api) => {
                if let Some(cx) = &self.context {
                    cx.span().end();
                }
            }
            None => {}
        }
    }

    fn api_span(&self, f: impl FnOnce(opentelemetry::trace::SpanRef<'_>)) {
        if let Some(cx) = &self.context {
            f(cx.span());
        }
    }
}

/// A span made current by [`Span::enter`]; dropping it (also while
/// unwinding) takes in what was added to the span meanwhile and restores
/// the previous context.
#[must_use = "the span is current only while the guard lives"]
pub struct SpanGuard<'a> {
    span: &'a mut Span,
    entered: Option<crate::current::Entered>,
    // Dropped after `drop` below has run: what was added leaves the
    // thread-local list while this span is still the current one.
    _attached: Option<ContextGuard>,
}

impl Drop for SpanGuard<'_> {
    fn drop(&mut self) {
        self.span.leave_record(self.entered.take());
    }
}

impl fmt::Debug for SpanGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanGuard")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        if self.recording.is_some() {
            self.end();
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("recording", &self.is_recording())
            .field("span_context", &self.span_context())
            .finish()
    }
}

#[inline(never)]
fn start_current(
    recorder: &'static Recorder,
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
) -> Span {
    Context::map_current(|current| {
        start_in(
            recorder, callsite, self_type, current, None, false, false, None,
        )
    })
}

/// The named starts: `identify` gives the span's name and identifying
/// attributes, built before the start only when sampling rules must see
/// them, after it only when the span records. `explicit`: the parent was
/// given, so an unsampled one is carried by the span (see `start_fast`).
fn start_named<A: Identifying>(
    callsite: &'static CallSite,
    parent_cx: &Context,
    remote: Option<&SpanContext>,
    explicit: bool,
    identify: impl FnOnce() -> (Cow<'static, str>, A),
) -> Span {
    let Some(recorder) = recorder::get() else {
        return Span::none();
    };
    let mut identify = Some(identify);
    let early = if recorder.sampler.has_rules() {
        identify.take().map(|identify| identify())
    } else {
        None
    };
    let hints = early.as_ref().map(|(name, attributes)| Hints {
        name,
        attributes: attributes.as_ref(),
    });
    let mut span = start_in(
        recorder,
        callsite,
        None,
        parent_cx,
        remote,
        false,
        explicit,
        hints.as_ref(),
    );
    if span.is_recording()
        && let Some((name, attributes)) = early.or_else(|| identify.map(|identify| identify()))
    {
        span.update_name(name);
        for attribute in attributes {
            span.set_attribute(attribute);
        }
    }
    span
}

/// `parent_cx` is the parent's context; `remote`, when given, the parent
/// span in place of its span (see [`Parent`]).
#[inline]
#[allow(clippy::too_many_arguments)] // the start path, kept flat so it inlines
fn start_in(
    recorder: &'static Recorder,
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
    parent_cx: &Context,
    remote: Option<&SpanContext>,
    root: bool,
    explicit: bool,
    hints: Option<&Hints<'_>>,
) -> Span {
    match &recorder.backend {
        Backend::Fast(collector) => start_fast(
            recorder, collector, callsite, self_type, parent_cx, remote, root, explicit, hints,
        ),
        Backend::Api(source) => match remote {
            None => start_api(source, callsite, self_type, parent_cx, root),
            Some(remote) => {
                let parent_cx = parent_cx.with_remote_span_context(remote.clone());
                start_api(source, callsite, self_type, &parent_cx, root)
            }
        },
    }
}

#[inline]
#[allow(clippy::too_many_arguments)] // the start path, kept flat so it inlines
fn start_fast(
    recorder: &'static Recorder,
    collector: &'static Collector,
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
    parent_cx: &Context,
    remote: Option<&SpanContext>,
    root: bool,
    explicit: bool,
    hints: Option<&Hints<'_>>,
) -> Span {
    let decide = |trace_id: TraceId, trace_state: &TraceState| {
        if recorder.sampler.has_rules() {
            decide_by_rules(recorder, callsite, self_type, hints, trace_id, trace_state)
        } else {
            recorder.sampler.decide(trace_id, trace_state)
        }
    };
    if parent_cx.is_telemetry_suppressed() {
        // An exporter at work (OpenTelemetry's suppressed scope, which
        // export threads enter): its own calls are not traced, as the SDK's
        // tracer does not trace them either.
        return Span::none();
    }
    let parent_span = parent_cx.span();
    let parent = match remote {
        Some(remote) => remote,
        None => parent_span.span_context(),
    };
    if !root && parent.is_valid() {
        let parent_based = recorder.sampler.parent_based();
        if !parent.is_sampled() && parent_based {
            // The unsampled parent stays current: children and downstream
            // services see the same sampled=0 context, at no cost.
            return Span {
                context: explicit.then(|| match remote {
                    Some(remote) => parent_cx.with_remote_span_context(remote.clone()),
                    None => parent_cx.clone(),
                }),
                recording: None,
            };
        }
        let span_id = new_span_id();
        let decided;
        let trace_state = if parent_based {
            match remote_threshold_check(parent) {
                Some(erased) => {
                    decided = erased;
                    &decided
                }
                None => parent.trace_state(),
            }
        } else {
            match decide(parent.trace_id(), parent.trace_state()) {
                Some(trace_state) => {
                    decided = trace_state;
                    &decided
                }
                None => {
                    // Not following the parent: a new span id, marked
                    // unsampled, so that downstream services agree with this
                    // decision.
                    let context = parent_cx.with_remote_span_context(SpanContext::new(
                        parent.trace_id(),
                        span_id,
                        parent.trace_flags().with_sampled(false),
                        false,
                        parent.trace_state().clone(),
                    ));
                    return Span {
                        context: Some(context),
                        recording: None,
                    };
                }
            }
        };
        let flags = parent.trace_flags().with_sampled(true);
        callsite.resolve(self_type);
        let mut record = new_record(collector, callsite, parent.trace_id(), span_id, flags);
        record.parent_span_id = parent.span_id();
        record.parent_is_remote = parent.is_remote();
        copy_baggage(recorder, parent_cx, &mut record);
        if *trace_state != TraceState::NONE {
            record.trace_state = Some(crate::shared_state::shared(trace_state));
        }
        let context = recorded_context(
            recorder,
            parent_cx,
            SpanContext::new(
                parent.trace_id(),
                span_id,
                flags,
                false,
                trace_state.clone(),
            ),
        );
        return Span {
            context: Some(context),
            recording: Some(Recording::Fast(ManuallyDrop::new(record))),
        };
    }

    let trace_id = new_trace_id();
    let span_id = new_span_id();
    let decision = decide(trace_id, &TraceState::NONE);
    // spanflow's trace ids are random in all their bits, which W3C Trace
    // Context Level 2 lets downstream samplers rely on through this flag.
    let flags = TraceFlags::new(RANDOM_FLAG).with_sampled(decision.is_some());
    let Some(trace_state) = decision else {
        let context = parent_cx.with_remote_span_context(SpanContext::new(
            trace_id,
            span_id,
            flags,
            false,
            TraceState::NONE,
        ));
        return Span {
            context: Some(context),
            recording: None,
        };
    };
    callsite.resolve(self_type);
    let mut record = new_record(collector, callsite, trace_id, span_id, flags);
    if trace_state != TraceState::NONE {
        // The probability threshold (`ot=th`), for downstream and collectors.
        record.trace_state = Some(crate::shared_state::shared(&trace_state));
    }
    let context = recorded_context(
        recorder,
        parent_cx,
        SpanContext::new(trace_id, span_id, flags, false, trace_state),
    );
    copy_baggage(recorder, parent_cx, &mut record);
    if root && parent.is_valid() {
        record
            .extras()
            .links
            .push(Link::with_context(parent.clone()));
    }
    Span {
        context: Some(context),
        recording: Some(Recording::Fast(ManuallyDrop::new(record))),
    }
}

/// The `Context` a sampled span is current in: its span context alone, or
/// a stand-in the OpenTelemetry API can write to, when the pipeline asks.
#[inline]
fn recorded_context(
    recorder: &Recorder,
    parent_cx: &Context,
    span_context: SpanContext,
) -> Context {
    if recorder.writable_active_span {
        writable_context(parent_cx, span_context)
    } else {
        parent_cx.with_remote_span_context(span_context)
    }
}

#[cold]
#[inline(never)]
fn writable_context(parent_cx: &Context, span_context: SpanContext) -> Context {
    parent_cx.with_span(crate::active_span::ActiveSpan::new(span_context))
}

/// The head decision when sampling rules are configured: they match the
/// span's name (resolved now) or the hints its starter gave.
#[cold]
fn decide_by_rules(
    recorder: &Recorder,
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
    hints: Option<&Hints<'_>>,
    trace_id: TraceId,
    trace_state: &TraceState,
) -> Option<TraceState> {
    match hints {
        Some(hints) => recorder.sampler.decide_for(trace_id, trace_state, hints),
        None => {
            callsite.resolve(self_type);
            let hints = Hints {
                name: callsite.name(),
                attributes: &[],
            };
            recorder.sampler.decide_for(trace_id, trace_state, &hints)
        }
    }
}

/// A sampled parent from another service whose `ot=th` contradicts its own
/// randomness: its trace state without the threshold (local parents were
/// checked when they started).
#[inline]
fn remote_threshold_check(parent: &SpanContext) -> Option<TraceState> {
    if !parent.is_remote() || *parent.trace_state() == TraceState::NONE {
        return None;
    }
    crate::probability::erase_inconsistent_threshold(parent.trace_id(), parent.trace_state())
}

/// The configured baggage entries as attributes (nothing to do, and no
/// baggage read, unless some are configured).
#[inline]
fn copy_baggage(recorder: &Recorder, parent_cx: &Context, record: &mut SpanRecord) {
    if recorder.baggage_keys.is_empty() {
        return;
    }
    copy_baggage_slow(recorder, parent_cx, record);
}

#[cold]
fn copy_baggage_slow(recorder: &Recorder, parent_cx: &Context, record: &mut SpanRecord) {
    use opentelemetry::baggage::BaggageExt;
    let baggage = parent_cx.baggage();
    for key in &recorder.baggage_keys {
        if let Some(value) = baggage.get(key.as_str()) {
            let attribute = KeyValue::new(key.clone(), Value::String(value.clone()));
            record.add_attribute(attribute, &recorder.limits);
        }
    }
}

/// Fills a recycled record in place; every field is set, since the box may
/// hold the previous span's values.
#[inline]
fn new_record(
    collector: &'static Collector,
    callsite: &'static CallSite,
    trace_id: opentelemetry::trace::TraceId,
    span_id: SpanId,
    flags: TraceFlags,
) -> Box<SpanRecord> {
    let mut record = collector.acquire(callsite);
    record.trace_id = trace_id;
    record.span_id = span_id;
    record.parent_span_id = SpanId::INVALID;
    record.flags = flags;
    record.parent_is_remote = false;
    record.cancelled = false;
    record.start = clock::now();
    record
}

fn start_api(
    source: &TracerSource,
    callsite: &'static CallSite,
    self_type: Option<fn() -> &'static str>,
    parent_cx: &Context,
    root: bool,
) -> Span {
    callsite.resolve(self_type);
    let mut builder = SpanBuilder::from_name(callsite.name()).with_kind(callsite.kind().to_otel());
    if callsite.has_code_attributes() {
        builder = builder.with_attributes([
            KeyValue::new(
                attributes::CODE_FUNCTION_NAME,
                Value::String(callsite.function().into()),
            ),
            KeyValue::new(
                attributes::CODE_FILE_PATH,
                Value::String(callsite.file().into()),
            ),
            KeyValue::new(attributes::CODE_LINE_NUMBER, i64::from(callsite.line())),
        ]);
    }
    let detached;
    let parent_for_span = if root {
        let current = parent_cx.span().span_context().clone();
        if current.is_valid() {
            builder = builder.with_links(vec![Link::with_context(current)]);
        }
        detached = Context::new();
        &detached
    } else {
        parent_cx
    };
    let span = match source {
        TracerSource::Given(tracer) => tracer.build_with_context(builder, parent_for_span),
        TracerSource::Global(scope) => opentelemetry::global::tracer_with_scope(scope.clone())
            .build_with_context(builder, parent_for_span),
    };
    let recording = opentelemetry::trace::Span::is_recording(&span).then_some(Recording::Api);
    Span {
        context: Some(parent_cx.with_span(span)),
        recording,
    }
}
