//! Installing the recorder and its export pipeline.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Context, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SimpleSpanProcessor, Span as SdkSpan, SpanData,
    SpanExporter, SpanProcessor,
};

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::collector::{Collector, CollectorSettings};
use crate::propagation::TraceContextPropagator;
use crate::recorder::{self, Backend, Recorder, TracerSource};
use crate::sampler::{RootSampler, Sampler};

/// Per-thread ring capacity, in spans, unless configured.
pub const DEFAULT_QUEUE_CAPACITY: usize = 2048;
/// How often the collector drains the rings, unless configured.
pub const DEFAULT_COLLECT_INTERVAL: Duration = Duration::from_millis(20);
/// How long dropping a [`PipelineGuard`] waits for the export to finish.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds and installs spanflow's recorder.
///
/// The recorder feeds the given OpenTelemetry SDK span processors (and so
/// any `SpanExporter`). An `SdkTracerProvider` sharing the same processors is
/// installed as OpenTelemetry's global provider, so spans made with the plain
/// OpenTelemetry API (by libraries) nest under `#[trace]` spans and reach the
/// same exporter.
///
/// ```
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
///
/// let exporter = InMemorySpanExporter::default();
/// let pipeline = spanflow::Pipeline::new()
///     .with_simple_exporter(exporter.clone())
///     .install()
///     .expect("installed once per process");
///
/// #[spanflow::trace]
/// fn checkout() {}
///
/// checkout();
/// pipeline.flush().unwrap();
/// assert_eq!(exporter.get_finished_spans().unwrap()[0].name, "checkout");
/// ```
#[must_use = "a pipeline does nothing until installed"]
pub struct Pipeline {
    processors: Vec<Box<dyn SpanProcessor>>,
    sampler: Sampler,
    resource: Option<Resource>,
    queue_capacity: usize,
    collect_interval: Duration,
    shutdown_timeout: Duration,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new()
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("processors", &self.processors.len())
            .field("sampler", &self.sampler)
            .field("queue_capacity", &self.queue_capacity)
            .field("collect_interval", &self.collect_interval)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline with no processors yet, sampling every trace.
    pub fn new() -> Self {
        Pipeline {
            processors: Vec::new(),
            sampler: Sampler::default(),
            resource: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            collect_interval: DEFAULT_COLLECT_INTERVAL,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// Adds an OpenTelemetry SDK span processor.
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Box::new(processor));
        self
    }

    /// Exports each span as it ends (for tests and demos).
    pub fn with_simple_exporter(self, exporter: impl SpanExporter + 'static) -> Self {
        self.with_span_processor(SimpleSpanProcessor::new(exporter))
    }

    /// Exports spans in batches from a background thread (for production).
    pub fn with_batch_exporter(self, exporter: impl SpanExporter + 'static) -> Self {
        self.with_span_processor(BatchSpanProcessor::builder(exporter).build())
    }

    /// Decides which new traces are recorded (default: all).
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// The resource describing this process (default: the SDK's, which reads
    /// `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Spans each thread may hold before the collector drains them; past it,
    /// spans are dropped and counted ([`PipelineGuard::dropped_spans`]).
    pub fn with_queue_capacity(mut self, spans: usize) -> Self {
        self.queue_capacity = spans.max(2);
        self
    }

    /// How often the collector drains the per-thread rings (a ring half full
    /// wakes it earlier).
    pub fn with_collect_interval(mut self, interval: Duration) -> Self {
        self.collect_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long dropping the guard waits for spans to be exported.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Installs the recorder, OpenTelemetry's global tracer provider, and the
    /// global propagator: spanflow's W3C Trace Context and OpenTelemetry's
    /// W3C Baggage.
    ///
    /// Fails if a recorder is installed already (once per process) or the
    /// collector thread cannot be started.
    pub fn install(self) -> Result<PipelineGuard, InstallError> {
        if recorder::get().is_some() {
            return Err(InstallError::AlreadyInstalled);
        }
        let resource = self.resource.unwrap_or_else(|| Resource::builder().build());
        let processors: Vec<Arc<dyn SpanProcessor>> = self
            .processors
            .into_iter()
            .map(|mut processor| {
                processor.set_resource(&resource);
                Arc::from(processor)
            })
            .collect();

        let mut provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(self.sampler.to_sdk());
        for processor in &processors {
            provider = provider.with_span_processor(SharedProcessor(Arc::clone(processor)));
        }
        let provider = provider.build();

        let collector = Collector::start(CollectorSettings {
            processors,
            queue_capacity: self.queue_capacity,
            interval: self.collect_interval,
            scope: recorder::scope(),
        })
        .map_err(InstallError::Thread)?;
        let installed = recorder::set(Recorder {
            sampler: RootSampler::new(self.sampler),
            backend: Backend::Fast(collector),
        })
        .map_err(|_| InstallError::AlreadyInstalled)?;
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        Ok(PipelineGuard {
            recorder: installed,
            provider: Some(provider),
            shutdown_timeout: self.shutdown_timeout,
        })
    }
}

/// Sends `#[trace]` spans through the OpenTelemetry API of `provider`
/// instead of spanflow's own recording path.
///
/// For programs that already build their own provider. Every span then costs
/// what the SDK costs (see `BENCHMARKS.md`), and sampling is the provider's.
pub fn install_tracer_provider<P>(provider: P) -> Result<PipelineGuard, InstallError>
where
    P: opentelemetry::trace::TracerProvider,
    P::Tracer: Send + Sync + 'static,
    <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
{
    let tracer = provider.tracer_with_scope(recorder::scope());
    install_api(TracerSource::Given(global::BoxedTracer::new(Box::new(
        tracer,
    ))))
}

/// Sends `#[trace]` spans to whatever provider `opentelemetry::global` holds
/// when each span starts (slowest; follows later `set_tracer_provider` calls).
pub fn install_global_tracer_provider() -> Result<PipelineGuard, InstallError> {
    install_api(TracerSource::Global(recorder::scope()))
}

fn install_api(source: TracerSource) -> Result<PipelineGuard, InstallError> {
    let installed = recorder::set(Recorder {
        sampler: RootSampler::new(Sampler::AlwaysOn),
        backend: Backend::Api(source),
    })
    .map_err(|_| InstallError::AlreadyInstalled)?;
    Ok(PipelineGuard {
        recorder: installed,
        provider: None,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
    })
}

/// Why a pipeline could not be installed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// A recorder is installed already; there is one per process.
    AlreadyInstalled,
    /// The collector thread could not be started.
    Thread(std::io::Error),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::AlreadyInstalled => f.write_str(
                "a spanflow pipeline is installed already; install one per process, at start-up",
            ),
            InstallError::Thread(error) => {
                write!(f, "could not start the spanflow collector thread: {error}")
            }
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Thread(error) => Some(error),
            InstallError::AlreadyInstalled => None,
        }
    }
}

/// A flush or shutdown did not finish within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushTimeout;

impl fmt::Display for FlushTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spanflow could not hand every span to the exporter before the deadline")
    }
}

impl std::error::Error for FlushTimeout {}

/// The installed pipeline. Dropping it flushes and shuts the export down,
/// waiting at most the shutdown timeout.
pub struct PipelineGuard {
    recorder: &'static Recorder,
    provider: Option<SdkTracerProvider>,
    shutdown_timeout: Duration,
}

impl fmt::Debug for PipelineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineGuard")
            .field("recorder", self.recorder)
            .finish_non_exhaustive()
    }
}

impl PipelineGuard {
    /// Hands every span ended so far to the processors and flushes them.
    pub fn flush(&self) -> Result<(), FlushTimeout> {
        self.flush_within(self.shutdown_timeout)
    }

    /// [`flush`](Self::flush) with an explicit deadline.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        match &self.recorder.backend {
            Backend::Fast(collector) => collector.flush(timeout).map_err(|_| FlushTimeout),
            Backend::Api(_) => Ok(()),
        }
    }

    /// Changes which new traces are recorded, effective at once.
    pub fn set_sampler(&self, sampler: Sampler) {
        self.recorder.sampler.set(sampler);
    }

    /// Spans dropped because a thread's ring was full (the exporter could not
    /// keep up) or the pipeline had shut down.
    pub fn dropped_spans(&self) -> u64 {
        match &self.recorder.backend {
            Backend::Fast(collector) => collector.dropped(),
            Backend::Api(_) => 0,
        }
    }

    /// Spans handed to the processors so far.
    pub fn collected_spans(&self) -> u64 {
        match &self.recorder.backend {
            Backend::Fast(collector) => collector.collected(),
            Backend::Api(_) => 0,
        }
    }

    /// The SDK provider sharing this pipeline's processors (also installed as
    /// OpenTelemetry's global provider).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Flushes and shuts the export down. Spans ended afterwards are dropped
    /// and counted.
    pub fn shutdown(mut self) -> Result<(), FlushTimeout> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), FlushTimeout> {
        let result = match &self.recorder.backend {
            Backend::Fast(collector) => collector
                .shutdown(self.shutdown_timeout)
                .map_err(|_| FlushTimeout),
            Backend::Api(_) => Ok(()),
        };
        self.provider = None;
        result
    }
}

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let _ = self.shutdown_inner();
    }
}

/// One processor fed both by spanflow's collector and by the SDK provider.
///
/// spanflow owns the processor's lifecycle: the resource is set before it is
/// shared and shutdown happens once, after the collector has drained.
#[derive(Debug)]
struct SharedProcessor(Arc<dyn SpanProcessor>);

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
