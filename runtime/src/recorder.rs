//! The process-wide recorder that `#[trace]` spans go to.

use std::fmt;
use std::sync::OnceLock;

use opentelemetry::InstrumentationScope;
use opentelemetry::global::BoxedTracer;

use crate::collector::Collector;
use crate::limits::Limits;
use std::sync::Arc;

use crate::sampler::RootSampler;

static RECORDER: OnceLock<Recorder> = OnceLock::new();

pub(crate) struct Recorder {
    pub(crate) sampler: Arc<RootSampler>,
    pub(crate) backend: Backend,
    /// Baggage entries copied onto every recorded span.
    pub(crate) baggage_keys: Vec<opentelemetry::Key>,
    /// What a recorded span keeps of what it is given.
    pub(crate) limits: Limits,
    /// Sampled spans are current as an [`ActiveSpan`](crate::active_span::ActiveSpan)
    /// that OpenTelemetry's API can write to.
    pub(crate) writable_active_span: bool,
}

pub(crate) enum Backend {
    /// spanflow's own recording path (see the crate docs).
    Fast(Collector),
    /// Spans made through the OpenTelemetry API of a given provider: slower,
    /// for programs whose provider spanflow did not build.
    Api(TracerSource),
}

pub(crate) enum TracerSource {
    Given(BoxedTracer),
    /// Whatever `opentelemetry::global` holds when the span starts.
    Global(InstrumentationScope),
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Fast(collector) => format!("{collector:?}"),
            Backend::Api(TracerSource::Given(_)) => "opentelemetry tracer".to_owned(),
            Backend::Api(TracerSource::Global(_)) => "opentelemetry global".to_owned(),
        };
        f.debug_struct("Recorder")
            .field("backend", &backend)
            .finish()
    }
}

/// The installed recorder, if any. One atomic load: this is the whole cost of
/// a `#[trace]` span when nothing is installed.
#[inline(always)]
pub(crate) fn get() -> Option<&'static Recorder> {
    RECORDER.get()
}

/// The installed recorder's span limits (the specification's defaults
/// before one is installed).
pub(crate) fn limits() -> Limits {
    get().map(|recorder| recorder.limits).unwrap_or_default()
}

/// A recorder was installed already.
#[derive(Debug)]
pub(crate) struct AlreadySet;

/// Installs the recorder; fails when one is installed already (two
/// installs racing), in which case the rejected one's collector thread is
/// stopped rather than left parked forever.
pub(crate) fn set(recorder: Recorder) -> Result<&'static Recorder, AlreadySet> {
    let mut recorder = Some(recorder);
    let installed = RECORDER.get_or_init(|| recorder.take().expect("taken only once"));
    match recorder {
        None => Ok(installed),
        Some(rejected) => {
            if let Backend::Fast(collector) = &rejected.backend {
                let _ = collector.shutdown(std::time::Duration::from_secs(1));
            }
            Err(AlreadySet)
        }
    }
}

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("spanflow")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}
