//! Building and installing the recorder and its export pipeline.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::{KeyValue, Value, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::ResourceBuilder;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter, SpanProcessor};

use crate::batch::BatchOptions;
use crate::collector::{Collector, CollectorSettings, RecordSink};
use crate::config::{self, ConfigError, EmbeddedExport, PropagatorName, SamplerSetting};
use crate::diagnostics;
use crate::export::{TerminalExporter, TraceStore};
use crate::export_accounting::ExportCounters;
use crate::guard::{InstallError, PipelineGuard};
use crate::limits::Limits;
#[cfg(feature = "b3")]
use crate::propagation::B3Propagator;
use crate::propagation::{BaggagePropagator, TraceContextPropagator, W3cPropagators};
use crate::recorder::{self, Backend, Recorder, TracerSource};
use crate::resource::ResourceEnv;
use crate::sampler::{RootSampler, Sampler, SamplingRules, SdkSampler};
use crate::shared_processor::SharedProcessor;
use crate::tail::{FanOut, TailSamplerBuilder};

mod exports;
mod simple;

use exports::Export;

/// Per-thread ring capacity, in spans, unless configured: room for a burst
/// of spans made faster than the collector drains them (128 KiB of slots
/// per thread; the records themselves exist only while spans wait).
pub const DEFAULT_QUEUE_CAPACITY: usize = 16_384;
/// The largest per-thread ring [`Pipeline::with_queue_capacity`] accepts:
/// a thread's ring slots are allocated when it first records (8 bytes
/// each, so 128 MiB a thread at this size).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;
/// How often the collector drains the rings, unless configured.
pub const DEFAULT_COLLECT_INTERVAL: Duration = Duration::from_millis(20);
/// How long dropping a [`PipelineGuard`] waits for the export to finish.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Spans the embedded default's in-process store keeps, unless configured.
pub const DEFAULT_EMBEDDED_STORE_SPANS: usize = 10_000;

/// Builds and installs spanflow's recorder.
///
/// The common case is one line, which also takes the service name and
/// version from the calling crate ([`pipeline!`](crate::pipeline!)):
///
/// ```no_run
/// let _tracing = spanflow::pipeline!().install().expect("valid configuration");
/// ```
///
/// The recorder feeds the given OpenTelemetry SDK span processors (and so
/// any `SpanExporter`). An `SdkTracerProvider` sharing the same processors is
/// installed as OpenTelemetry's global provider, so spans made with the plain
/// OpenTelemetry API (by libraries) nest under `#[trace]` spans and reach the
/// same exporter; the global propagator becomes spanflow's W3C Trace Context
/// and W3C Baggage ([`propagation`](crate::propagation)).
///
/// Given no exporter, the pipeline uses the embedded default: an in-process
/// [`TraceStore`] ([`PipelineGuard::store`]) and the sink named by
/// `SPANFLOW_EXPORT` (see [`EmbeddedExport`]; by default each trace is drawn
/// as a tree on standard output).
///
/// From the environment: `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
/// (through the SDK's resource detectors), `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`, `SPANFLOW_EXPORT`. Values given in code win over
/// the environment; invalid values are an [`InstallError::Config`] naming the
/// variable.
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
    processors: Vec<Export>,
    /// Given in code, in place of `OTEL_BSP_*`.
    batch_options: Option<BatchOptions>,
    /// The OTLP processor's record input, when OTLP is the export.
    direct: Option<Arc<dyn RecordSink>>,
    tail: Option<TailSamplerBuilder>,
    rules: SamplingRules,
    export_counters: Arc<ExportCounters>,
    resource_env: ResourceEnv,
    git_commit: Option<&'static str>,
    sampler: Option<SamplerSetting>,
    resource: Option<Resource>,
    service_name: Option<String>,
    service_version: Option<String>,
    crate_name: Option<&'static str>,
    crate_version: Option<&'static str>,
    embedded: Option<EmbeddedExport>,
    baggage_keys: Vec<opentelemetry::Key>,
    writable_active_span: bool,
    #[cfg(feature = "otlp")]
    otlp: Option<crate::otlp::OtlpTarget>,
    store_spans: usize,
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
            .field("service_name", &self.service_name)
            .field("embedded", &self.embedded)
            .field("queue_capacity", &self.queue_capacity)
            .field("collect_interval", &self.collect_interval)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline with nothing configured: the embedded default, the
    /// environment's settings, sampling every trace.
    pub fn new() -> Self {
        Pipeline {
            processors: Vec::new(),
            batch_options: None,
            direct: None,
            tail: None,
            rules: SamplingRules::new(),
            export_counters: Arc::default(),
            resource_env: ResourceEnv::default(),
            git_commit: None,
            sampler: None,
            resource: None,
            service_name: None,
            service_version: None,
            crate_name: None,
            crate_version: None,
            embedded: None,
            baggage_keys: Vec::new(),
            writable_active_span: false,
            #[cfg(feature = "otlp")]
            otlp: None,
            store_spans: DEFAULT_EMBEDDED_STORE_SPANS,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            collect_interval: DEFAULT_COLLECT_INTERVAL,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// Adds an OpenTelemetry SDK span processor (replacing the embedded
    /// default).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Export::Ready(Box::new(processor)));
        self
    }

    /// Exports each span as it ends (for tests and demos), on the
    /// collector thread; [`PipelineGuard::flush`] also flushes the exporter
    /// (which the SDK's `SimpleSpanProcessor` does not).
    pub fn with_simple_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.processors.push(Export::simple(exporter));
        self
    }

    /// Exports spans in batches from a background thread (for production);
    /// `OTEL_BSP_*` set the batch sizes and delays (or
    /// [`with_batch_options`](Self::with_batch_options) in code), and an
    /// invalid value is an [`InstallError::Config`] from
    /// [`install`](Self::install), which starts the thread.
    ///
    /// The batching is spanflow's, in place of the SDK's
    /// `BatchSpanProcessor` (same settings, less copying; see
    /// `BENCHMARKS.md`), and its outcome is counted in
    /// [`PipelineGuard::export_stats`]. As under the SDK's processor, the
    /// export thread drives each `export` future itself, without an async
    /// runtime: an exporter whose futures need a runtime's context must
    /// bring its own; spanflow's OTLP export (`with_otlp`) needs none.
    /// Unlike the SDK's processor, it gives up on an export still pending
    /// after `OTEL_BSP_EXPORT_TIMEOUT` (30 s): the future is dropped, the
    /// batch counted failed, and the next batch goes on. Batches
    /// go to the exporter one at a time, whatever
    /// `OTEL_BSP_MAX_CONCURRENT_EXPORTS` says: the `SpanExporter` contract
    /// forbids concurrent `export` calls.
    pub fn with_batch_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.processors.push(Export::batched(exporter));
        self
    }

    /// Batches every batch export of this pipeline (OTLP, the JSON file,
    /// [`with_batch_exporter`](Self::with_batch_exporter)) so, instead of
    /// reading the `OTEL_BSP_*` variables; start from
    /// [`BatchOptions::from_env`] to keep the environment's values for what
    /// is not set. A count of zero makes [`install`](Self::install) fail
    /// with an [`InstallError::Config`] naming the field.
    pub fn with_batch_options(mut self, options: BatchOptions) -> Self {
        self.batch_options = Some(options);
        self
    }

    /// Exports over OTLP to `target` (overriding the
    /// `OTEL_EXPORTER_OTLP_*` variables), in batches, besides any exporter
    /// given in code; `OTEL_BSP_*` (or
    /// [`with_batch_options`](Self::with_batch_options)) set the batch
    /// sizes and delays, and
    /// `OTEL_BSP_MAX_CONCURRENT_EXPORTS` how many requests are sent side by
    /// side (one by default; more for a receiver far away, where each
    /// request waits a round trip).
    ///
    /// ```no_run
    /// use spanflow::otlp::{OtlpProtocol, OtlpTarget};
    ///
    /// let target = OtlpTarget::new("http://127.0.0.1:4317", OtlpProtocol::Grpc)?;
    /// let _tracing = spanflow::pipeline!().with_otlp(target).install()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "otlp")]
    pub fn with_otlp(mut self, target: crate::otlp::OtlpTarget) -> Self {
        self.otlp = Some(target);
        self
    }

    /// Copies these baggage entries, when a request carries them, onto every
    /// span recorded for it as attributes of the same name (a tenant id, a
    /// request priority): the spans can then be searched and grouped by
    /// them without every fn recording them.
    ///
    /// ```no_run
    /// let _tracing = spanflow::pipeline!()
    ///     .with_baggage_attributes(["tenant.id", "request.priority"])
    ///     .install()?;
    /// # Ok::<(), spanflow::InstallError>(())
    /// ```
    pub fn with_baggage_attributes<K: Into<opentelemetry::Key>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Self {
        self.baggage_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Makes OpenTelemetry's API able to write to spanflow spans:
    /// `get_active_span(|span| span.set_attribute(..))`,
    /// `Context::current().span().add_event(..)` and the like (attributes,
    /// events, status, name, links) then reach the span whose work is
    /// running, as they reach an SDK span. Off by default, where the API
    /// sees a spanflow span as a span context it cannot write to, and
    /// spanflow's own [`current`](crate::current) functions are the way in.
    ///
    /// The cost: a second allocation for each sampled span (and a second
    /// copy of a `tracestate`). What is written reaches the span while it
    /// is the innermost spanflow span whose work runs on the writing thread
    /// (a `#[trace]` fn's body, a traced future's polls,
    /// [`Span::in_scope`](crate::Span::in_scope)), which is where the API's
    /// active span is that span; at other times (a `Context` kept after the
    /// span ended, or held while a child span runs, or attached by hand)
    /// the span's `is_recording()` is false and writes are dropped.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use opentelemetry::trace::get_active_span;
    ///
    /// #[spanflow::trace]
    /// fn handle(user: &str) {
    ///     get_active_span(|span| span.set_attribute(KeyValue::new("user.id", user.to_owned())));
    /// }
    ///
    /// let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    /// let pipeline = spanflow::Pipeline::new()
    ///     .with_simple_exporter(exporter.clone())
    ///     .with_writable_active_span(true)
    ///     .install()?;
    /// handle("u-7");
    /// pipeline.flush()?;
    /// let spans = exporter.get_finished_spans().unwrap();
    /// assert!(spans[0].attributes.contains(&KeyValue::new("user.id", "u-7")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_writable_active_span(mut self, writable: bool) -> Self {
        self.writable_active_span = writable;
        self
    }

    /// Chooses the embedded default's sink in code (overriding
    /// `SPANFLOW_EXPORT`); ignored when exporters are given.
    pub fn with_embedded_export(mut self, export: EmbeddedExport) -> Self {
        self.embedded = Some(export);
        self
    }

    /// How many spans the embedded default's store keeps.
    pub fn with_store_capacity(mut self, spans: usize) -> Self {
        self.store_spans = spans;
        self
    }

    /// Decides which new traces are recorded (default: all), overriding
    /// `OTEL_TRACES_SAMPLER`.
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        let parent_based = self.sampler.is_none_or(|setting| setting.parent_based);
        self.sampler = Some(SamplerSetting {
            sampler,
            parent_based,
        });
        self
    }

    /// Whether spans with a parent follow the parent's decision (the default)
    /// or are sampled like roots.
    pub fn with_parent_based(mut self, parent_based: bool) -> Self {
        let sampler = self
            .sampler
            .map_or(Sampler::AlwaysOn, |setting| setting.sampler);
        self.sampler = Some(SamplerSetting {
            sampler,
            parent_based,
        });
        self
    }

    /// `service.name`, overriding `OTEL_SERVICE_NAME`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version`, overriding the one [`pipeline!`](crate::pipeline!)
    /// takes from the calling crate.
    pub fn with_service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// The calling crate's name and version, used when neither code nor the
    /// environment names the service (what [`pipeline!`](crate::pipeline!)
    /// passes).
    #[doc(hidden)]
    pub fn with_crate_defaults(mut self, name: &'static str, version: &'static str) -> Self {
        self.crate_name = Some(name);
        self.crate_version = Some(version);
        self
    }

    /// Which environment variables describe the deployment and the pod
    /// (see [`ResourceEnv`]; the defaults are the Kubernetes Downward API's
    /// usual names).
    pub fn with_resource_env(mut self, env: ResourceEnv) -> Self {
        self.resource_env = env;
        self
    }

    /// The commit the service was built from, as `vcs.ref.head.revision`
    /// ([`pipeline!`](crate::pipeline!) passes what the build environment
    /// had in `GIT_COMMIT`, `VERGEN_GIT_SHA` or `GITHUB_SHA`).
    #[doc(hidden)]
    pub fn with_git_commit(mut self, commit: Option<&'static str>) -> Self {
        self.git_commit = commit;
        self
    }

    /// The whole resource describing this process (default: the SDK's, which
    /// reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Spans each thread may hold before the collector drains them; past it,
    /// spans are dropped and counted ([`PipelineGuard::dropped_spans`]).
    /// More than [`MAX_QUEUE_CAPACITY`] makes [`install`](Self::install)
    /// fail.
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

    /// Head-sampling rules for new traces, ahead of the sampler (see
    /// [`SamplingRules`]): spans made through the OpenTelemetry API follow
    /// the same rules.
    pub fn with_sampling_rules(mut self, rules: SamplingRules) -> Self {
        self.rules = rules;
        self
    }

    /// Tail sampling in front of every export of this pipeline (exporters
    /// given in code, OTLP, or the embedded default, its store included):
    /// whole traces are kept or dropped by the sampler's policy; see
    /// [`tail`](crate::tail). [`PipelineGuard::tail_stats`] reads its
    /// counters.
    ///
    /// ```
    /// use std::time::Duration;
    /// use spanflow::tail::{Policy, TailSampler};
    ///
    /// let pipeline = spanflow::Pipeline::new().with_tail_sampling(TailSampler::builder(
    ///     Policy::any_of([
    ///         Policy::errors(),
    ///         Policy::warnings(),
    ///         Policy::latency_over(Duration::from_secs(1)),
    ///         Policy::probability(0.001),
    ///     ]),
    /// ));
    /// ```
    pub fn with_tail_sampling(mut self, sampler: TailSamplerBuilder) -> Self {
        self.tail = Some(sampler);
        self
    }

    /// How long dropping the guard waits for spans to be exported.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Installs the recorder, OpenTelemetry's global tracer provider and the
    /// global propagator (W3C Trace Context and Baggage, or what
    /// `OTEL_PROPAGATORS` names).
    ///
    /// Fails if a recorder is installed already (once per process), if a
    /// configuration value is invalid (or a configuration file named by
    /// [`OTEL_CONFIG_FILE`](crate::config::CONFIG_FILE) cannot be read or
    /// asks for what spanflow cannot do), or if the exporter or the
    /// collector thread cannot be set up.
    ///
    /// With `OTEL_SDK_DISABLED=true` in the environment it installs
    /// nothing, whatever the code configured: an operator's switch to turn
    /// tracing off without a rebuild. Spans then cost what they cost with no
    /// pipeline (a thread-local read), nothing is exported and the guard's
    /// counters stay at zero.
    pub fn install(self) -> Result<PipelineGuard, InstallError> {
        if recorder::get().is_some() {
            return Err(InstallError::AlreadyInstalled);
        }
        config::check_config_file()?;
        self.install_configured().map_err(|error| match error {
            InstallError::Config(error) => InstallError::Config(config::in_file_terms(error)),
            other => other,
        })
    }

    fn install_configured(mut self) -> Result<PipelineGuard, InstallError> {
        if config::sdk_disabled_from_env()? {
            return Ok(PipelineGuard {
                recorder: None,
                provider: None,
                store: None,
                tail: None,
                export: self.export_counters,
                shutdown_timeout: self.shutdown_timeout,
            });
        }
        if self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(InstallError::Config(ConfigError::new(
                "Pipeline::with_queue_capacity",
                self.queue_capacity.to_string(),
                format!(
                    "at most {MAX_QUEUE_CAPACITY} spans a thread: each thread's ring is allocated \
                     when it first records, 8 bytes a span"
                ),
            )));
        }
        let sampler = match self.sampler {
            Some(setting) => setting,
            None => config::sampler_from_env()?.unwrap_or_default(),
        };
        let propagators = config::propagators_from_env()?;
        let limits = config::limits_from_env()?;
        // Read by spanflow-http's layers, but checked here, where an error
        // can be told.
        config::http_known_methods_from_env()?;
        diagnostics::set_level(diagnostics::level_from_env()?);
        #[cfg(feature = "config-file")]
        crate::declarative::say_notes();
        let resource = self.build_resource();
        let store = self.add_exports()?;
        let mut exports = Vec::with_capacity(self.processors.len());
        for export in std::mem::take(&mut self.processors) {
            exports.push(export.start(|| self.batch_options(), &self.export_counters)?);
        }

        ExportCounters::register_metrics(&self.export_counters);
        let tail = self.tail.take().map(|builder| {
            let fanned: Box<dyn SpanProcessor> = if exports.len() == 1 {
                exports.remove(0)
            } else {
                Box::new(FanOut(std::mem::take(&mut exports)))
            };
            let sampler = builder.build_boxed(fanned);
            let stats = sampler.stats();
            exports.push(Box::new(sampler));
            stats
        });

        let processors: Vec<Arc<dyn SpanProcessor>> = exports
            .into_iter()
            .map(|mut processor| {
                processor.set_resource(&resource);
                Arc::from(processor)
            })
            .collect();
        let root_sampler = Arc::new(
            RootSampler::new(sampler.sampler, sampler.parent_based)
                .with_rules(std::mem::take(&mut self.rules)),
        );
        // Records go straight to the OTLP processor when nothing else (a
        // tail sampler) needs them as `SpanData` first.
        // (Only when it is the only export: the others need `SpanData`.)
        let direct = if tail.is_none() && processors.len() == 1 {
            self.direct.take()
        } else {
            None
        };
        let collector = Collector::start(CollectorSettings {
            processors: processors.clone(),
            direct,
            queue_capacity: self.queue_capacity,
            interval: self.collect_interval,
            scope: recorder::scope(),
        })
        .map_err(InstallError::Thread)?;
        let provider = SdkTracerProvider::builder()
            .with_span_limits(limits.counts)
            .with_resource(resource)
            .with_sampler(SdkSampler(Arc::clone(&root_sampler)))
            .with_span_processor(SharedProcessor {
                processors,
                collector: collector.api_spans(),
                limits,
                flush_timeout: self.shutdown_timeout,
            })
            .build();
        let installed = recorder::set(Recorder {
            sampler: root_sampler,
            backend: Backend::Fast(collector),
            baggage_keys: self.baggage_keys,
            limits,
            writable_active_span: self.writable_active_span,
        })
        .map_err(|_| InstallError::AlreadyInstalled)?;
        global::set_tracer_provider(provider.clone());
        let w3c_only = propagators
            .iter()
            .all(|name| matches!(name, PropagatorName::TraceContext | PropagatorName::Baggage));
        let w3c_installed = w3c_only
            && W3cPropagators::install(
                propagators.contains(&PropagatorName::TraceContext),
                propagators.contains(&PropagatorName::Baggage),
            );
        if !w3c_installed {
            install_composite(propagators);
        }
        Ok(PipelineGuard {
            recorder: Some(installed),
            provider: Some(provider),
            store,
            tail,
            export: self.export_counters,
            shutdown_timeout: self.shutdown_timeout,
        })
    }

    /// The batch options given in code, checked, or the `OTEL_BSP_*`
    /// variables'.
    fn batch_options(&self) -> Result<BatchOptions, ConfigError> {
        match self.batch_options {
            Some(options) => options.validated(),
            None => BatchOptions::from_env(),
        }
    }

    /// Code's name and version win; then the environment (read by the SDK's
    /// detectors); then the calling crate's.
    fn build_resource(&self) -> Resource {
        let read_now = self.resource_env.read(self.git_commit);
        let detected = self.resource.clone().unwrap_or_else(default_resource);
        // What was read here ranks lowest: the SDK's reading of OTEL_*
        // (and a resource given in code) overrides it.
        let detected = builder_with_schema_of(&detected)
            .with_attributes(read_now)
            .with_attributes(
                detected
                    .iter()
                    .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
            )
            .build();
        let mut extra = Vec::new();
        let service_name = detected.get(&opentelemetry::Key::from_static_str("service.name"));
        let unnamed = service_name.is_none_or(|name| name.as_str().starts_with("unknown_service"));
        match (&self.service_name, self.crate_name) {
            (Some(name), _) => extra.push(KeyValue::new("service.name", name.clone())),
            (None, Some(name)) if unnamed => extra.push(KeyValue::new("service.name", name)),
            _ => {}
        }
        let has_version = detected
            .get(&opentelemetry::Key::from_static_str("service.version"))
            .is_some();
        match (&self.service_version, self.crate_version) {
            (Some(version), _) => extra.push(KeyValue::new(
                "service.version",
                Value::from(version.clone()),
            )),
            (None, Some(version)) if !has_version => {
                extra.push(KeyValue::new("service.version", version))
            }
            _ => {}
        }
        if extra.is_empty() {
            return detected;
        }
        builder_with_schema_of(&detected)
            .with_attributes(
                detected
                    .iter()
                    .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
            )
            .with_attributes(extra)
            .build()
    }

    /// The exports: what code gave; else what `OTEL_TRACES_EXPORTER`
    /// names; else OTLP when the environment names an endpoint; else the
    /// embedded default. Returns the embedded default's store, if used.
    fn add_exports(&mut self) -> Result<Option<TraceStore>, InstallError> {
        // OTLP given in code joins the exporters given in code.
        if self.add_otlp(false)? || !self.processors.is_empty() {
            return Ok(None);
        }
        let chosen = match self.embedded {
            Some(_) => None,
            None => config::traces_exporter_from_env()?,
        };
        let Some(chosen) = chosen else {
            if self.add_otlp(true)? {
                return Ok(None);
            }
            return self.add_embedded_default().map(Some);
        };
        if chosen.otlp {
            self.add_otlp_from_env_or_default()?;
        }
        if let Some(file) = &chosen.otlp_file {
            self.processors.push(exports::otlp_file(file)?);
        }
        if (chosen.otlp || chosen.otlp_file.is_some()) && !chosen.console {
            return Ok(None);
        }
        if let Some(value) = config::var(config::SPANFLOW_EXPORT) {
            return Err(InstallError::Config(ConfigError::new(
                config::SPANFLOW_EXPORT,
                value,
                "OTEL_TRACES_EXPORTER (or the configuration file's exporters) chooses the \
                 export already; set one of the two",
            )));
        }
        self.embedded = Some(if chosen.console {
            EmbeddedExport::Terminal
        } else {
            EmbeddedExport::None
        });
        self.add_embedded_default().map(Some)
    }

    /// OTLP to the endpoint the environment names, or to the
    /// specification's default one (`OTEL_TRACES_EXPORTER=otlp`).
    #[cfg(feature = "otlp")]
    fn add_otlp_from_env_or_default(&mut self) -> Result<(), InstallError> {
        self.otlp = Some(crate::otlp::OtlpTarget::from_env_or_default()?);
        self.add_otlp(false).map(drop)
    }

    #[cfg(not(feature = "otlp"))]
    fn add_otlp_from_env_or_default(&mut self) -> Result<(), InstallError> {
        Err(InstallError::Config(ConfigError::new(
            config::TRACES_EXPORTER,
            config::var(config::TRACES_EXPORTER).unwrap_or_default(),
            "spanflow was built without its `otlp` feature",
        )))
    }

    /// OTLP when code names an endpoint, or (if `from_env`) the
    /// environment does.
    #[cfg(feature = "otlp")]
    fn add_otlp(&mut self, from_env: bool) -> Result<bool, InstallError> {
        let target = match (self.otlp.take(), from_env) {
            (Some(target), _) => target,
            (None, true) => match crate::otlp::OtlpTarget::from_env()? {
                Some(target) => target,
                None => return Ok(false),
            },
            (None, false) => return Ok(false),
        };
        let batch = self.batch_options()?;
        let export =
            crate::otlp::processor(&target, batch, &self.export_counters).map_err(|failure| {
                match failure {
                    crate::otlp::InstallFailure::Config(error) => InstallError::Config(error),
                    crate::otlp::InstallFailure::Exporter(error) => InstallError::Exporter(error),
                }
            })?;
        self.processors.push(Export::Ready(export.processor));
        self.direct = export.direct;
        Ok(true)
    }

    /// Without OTLP support an endpoint in the environment is an error, not
    /// a silent fallback to the embedded default.
    #[cfg(not(feature = "otlp"))]
    fn add_otlp(&mut self, from_env: bool) -> Result<bool, InstallError> {
        if !from_env {
            return Ok(false);
        }
        for variable in [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ] {
            if let Some(value) = config::var(variable) {
                return Err(InstallError::Config(ConfigError::new(
                    variable,
                    value,
                    "spanflow was built without its `otlp` feature",
                )));
            }
        }
        Ok(false)
    }

    fn add_embedded_default(&mut self) -> Result<TraceStore, InstallError> {
        let export = match self.embedded.take() {
            Some(export) => export,
            None => EmbeddedExport::from_env()?.unwrap_or(EmbeddedExport::Terminal),
        };
        let store = TraceStore::new(self.store_spans);
        self.processors.push(Export::simple(store.exporter()));
        match export {
            EmbeddedExport::Terminal => self
                .processors
                .push(Export::simple(TerminalExporter::stdout())),
            EmbeddedExport::Stderr => self
                .processors
                .push(Export::simple(TerminalExporter::stderr())),
            EmbeddedExport::JsonFile(path) => {
                let file = exports::json_file(&path, self.batch_options()?, &self.export_counters)?;
                self.processors.push(Export::Ready(file));
            }
            EmbeddedExport::Memory | EmbeddedExport::None => {}
        }
        Ok(store)
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
        sampler: Arc::new(RootSampler::new(Sampler::AlwaysOn, true)),
        backend: Backend::Api(source),
        baggage_keys: Vec::new(),
        // The given provider applies its own limits.
        limits: Limits::default(),
        // Its spans are the SDK's, which the API writes to anyway.
        writable_active_span: false,
    })
    .map_err(|_| InstallError::AlreadyInstalled)?;
    Ok(PipelineGuard {
        recorder: Some(installed),
        provider: None,
        store: None,
        tail: None,
        export: Arc::default(),
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
    })
}

/// The resource when code gives none: the SDK's (which reads
/// `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`), or, when a
/// configuration file is read, the SDK's description of itself and the
/// file's attributes, since the file replaces those variables.
fn default_resource() -> Resource {
    #[cfg(feature = "config-file")]
    if let Some((attributes, schema_url)) = crate::declarative::resource() {
        return builder_with_schema(schema_url)
            .with_detector(Box::new(
                opentelemetry_sdk::resource::TelemetryResourceDetector,
            ))
            .with_attributes(attributes)
            .build();
    }
    Resource::builder().build()
}

/// An empty resource's builder with `resource`'s schema URL, if any: a
/// resource rebuilt from another's attributes keeps the schema they
/// follow.
fn builder_with_schema_of(resource: &Resource) -> ResourceBuilder {
    builder_with_schema(resource.schema_url().map(str::to_owned))
}

/// An empty resource's builder, following `schema_url` if given.
fn builder_with_schema(schema_url: Option<String>) -> ResourceBuilder {
    match schema_url {
        Some(schema_url) => Resource::builder_empty().with_schema_url([], schema_url),
        None => Resource::builder_empty(),
    }
}

/// The propagators `OTEL_PROPAGATORS` names, in its order, as the global
/// propagator: for lists with B3 (or none), which [`W3cPropagators`] does
/// not cover.
fn install_composite(propagators: Vec<PropagatorName>) {
    global::set_text_map_propagator(TextMapCompositePropagator::new(
        propagators
            .into_iter()
            .map(|name| -> Box<dyn TextMapPropagator + Send + Sync> {
                match name {
                    PropagatorName::TraceContext => Box::new(TraceContextPropagator::new()),
                    PropagatorName::Baggage => Box::new(BaggagePropagator::new()),
                    #[cfg(feature = "b3")]
                    PropagatorName::B3Single => Box::new(B3Propagator::single_header()),
                    #[cfg(feature = "b3")]
                    PropagatorName::B3Multi => Box::new(B3Propagator::multiple_headers()),
                }
            })
            .collect(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_given_in_code_keeps_its_schema_url() {
        let schema_url = "https://opentelemetry.io/schemas/1.37.0";
        let given = Resource::builder_empty()
            .with_schema_url([KeyValue::new("service.name", "checkout")], schema_url)
            .build();
        let resource = Pipeline::new()
            .with_resource(given)
            .with_service_version("1.2.3")
            .build_resource();
        assert_eq!(resource.schema_url(), Some(schema_url));
        assert_eq!(
            resource.get(&opentelemetry::Key::from_static_str("service.name")),
            Some(Value::from("checkout"))
        );
        assert_eq!(
            resource.get(&opentelemetry::Key::from_static_str("service.version")),
            Some(Value::from("1.2.3"))
        );
    }
}
