//! spanflow: OpenTelemetry instrumentation for async and actor code.
//!
//! One request is one trace, across `.await`, [`spawn`], streams and
//! hand-made boundaries. Put [`#[trace]`](macro@trace) on a fn, install a
//! [`Pipeline`] once, and every call becomes an OpenTelemetry span with the
//! right parent, on any thread.
//!
//! ```
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//!
//! #[spanflow::trace(kind = server, err)]
//! async fn checkout(cart: u64) -> Result<u64, String> {
//!     let total = price(cart).await;
//!     spanflow::spawn(audit(total)).await.map_err(|e| e.to_string())?;
//!     Ok(total)
//! }
//!
//! #[spanflow::trace(args(cart))]
//! async fn price(cart: u64) -> u64 {
//!     cart * 100
//! }
//!
//! #[spanflow::trace]
//! async fn audit(_total: u64) {}
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let exporter = InMemorySpanExporter::default();
//! let pipeline = spanflow::Pipeline::new()
//!     .with_simple_exporter(exporter.clone())
//!     .install()
//!     .unwrap();
//!
//! assert_eq!(checkout(3).await, Ok(300));
//! pipeline.flush().unwrap();
//!
//! let spans = exporter.get_finished_spans().unwrap();
//! assert_eq!(spans.len(), 3);
//! assert!(spans.iter().all(|s| s.span_context.trace_id() == spans[0].span_context.trace_id()));
//! # }
//! ```
//!
//! # How a span is recorded
//!
//! The OpenTelemetry SDK's span allocates and takes locks per span (about
//! 400 ns each on a small machine). spanflow keeps its own recording path
//! and uses the SDK only for export:
//!
//! * Starting a span reads the current [`opentelemetry::Context`], draws ids
//!   from a thread-local generator, reads a TSC clock and fills a fixed-size
//!   record. The span becomes current through an `opentelemetry::Context`
//!   holding just its `SpanContext` (the one allocation per span), so
//!   libraries instrumented with the plain OpenTelemetry API nest under it.
//! * Ending a span pushes the record (a recycled box) into a bounded
//!   per-thread ring, large enough (16,384 spans) to take a burst the
//!   collector cannot drain as fast as it comes. A collector thread drains
//!   the rings, turns records into `SpanData` and hands them to the SDK span
//!   processors given to the [`Pipeline`]. Spans made through the
//!   OpenTelemetry API (the installed `SdkTracerProvider`'s) reach the same
//!   processors through the collector too, from a bounded queue: every span
//!   reaches one exporter, processors' work and panics stay off the
//!   application's threads, and of the spans a drain finds, roots go last,
//!   so that an exporter that takes a root's end for its trace's end has
//!   what other threads ended of the trace meanwhile. A full
//!   ring or queue drops spans and counts them ([`PipelineGuard::dropped_spans`]):
//!   export never blocks the application and never grows memory without
//!   bound, and a dropped span's box is reused by the next span, so
//!   dropping costs less than exporting.
//! * For OTLP/gRPC and OTLP/HTTP with protobuf, the processor is spanflow's
//!   own (`spanflow::otlp`): it writes each span's protobuf bytes as the span
//!   arrives, into the request being built, instead of queueing `SpanData`
//!   for the SDK's batch processor and converting whole batches into
//!   opentelemetry-proto's structs, which cost two to three times as much
//!   CPU. When it is the only export, the collector hands it records and no
//!   `SpanData` is made at all (a tail sampler needs `SpanData`, and gets it).
//!   `OTEL_BSP_MAX_CONCURRENT_EXPORTS` sender threads send the requests side
//!   by side, for receivers a round trip away.
//! * Any other `SpanExporter` given to
//!   [`Pipeline::with_batch_exporter`] is batched by spanflow too, with the
//!   same `OTEL_BSP_*` settings as the SDK's batch processor: each span
//!   moves once into the batch being built, and whole batches go to one
//!   export thread, where the SDK's processor sends every span through a
//!   channel (a third fewer instructions off the application thread per
//!   span, with an exporter that discards; see `BENCHMARKS.md`). An export
//!   still pending after `OTEL_BSP_EXPORT_TIMEOUT` is given up, where the
//!   SDK's processor waits for it forever.
//! * A span whose parent is unsampled, or with nothing installed, costs a
//!   thread-local read and changes nothing; a root dropped by the sampler
//!   still propagates its context, marked unsampled.
//! * Inside OpenTelemetry's suppressed scope
//!   (`Context::enter_telemetry_suppressed_scope`, which spanflow's export
//!   threads enter, as the SDK's do) no span is recorded, as with the SDK's
//!   tracer: an exporter that calls instrumented code does not trace its
//!   own exports.
//!
//! On a 2-core VM a sampled span costs 100–110 ns on the application
//! thread (the SDK: about 300 ns; fastrace: about 105 ns). The least a span
//! can cost there while it is visible through `opentelemetry::Context`, with
//! ids, two clock reads and a record kept on its thread, is 80 ns, nearly
//! all of it the `Context` (an allocation, a thread-local stack, two atomic
//! operations when it is dropped: ~60 ns) and the clock reads (~20 ns);
//! the rest is spanflow's own work (~13 ns with every thread on one core)
//! and moving each record between cores for the collector thread: the
//! least span with a minimal hand-off of its record to another thread
//! takes 104–116 ns in the same runs, as much as spanflow's. Under
//! sustained load, with the collector draining beside the spans, a span
//! costs more (~120 ns), for the same reason. In a trace with a
//! `tracestate` (every trace a ratio sampler keeps has `ot=th`), the span's
//! `Context` needs its own copy of it, OpenTelemetry's type being a list of
//! owned strings: ~230 ns a span under a two-entry state (the SDK: ~650 ns);
//! the records of a thread's spans share one copy. A string attribute is
//! copied into the span, unless it is a literal in `fields(...)`. A
//! recycled record keeps the room its attributes, events and links took
//! (up to 16 attributes and 8 events or links a record, and 1 KiB of log
//! text and 16 log fields: ~4.4 KB at most), so a span that adds some
//! allocates none of their lists on its thread once warm (~200 ns for a
//! span and an event, ~300 before), at the price of memory held per thread
//! for the records it keeps for reuse (up to 2,048 spare records: a thread
//! making spans with ten attributes and two events each holds ~2.8 MB,
//! one making spans with two short log lines each ~2.3 MB, plain spans
//! ~0.5–0.8 MB). A log line through [`logs`]' bridges stays
//! compact in the record (its level and target, its message and fields
//! written into those buffers, its time in the span's clock ticks) until
//! the collector makes it an OpenTelemetry event, or spanflow's OTLP
//! processor encodes it as one in place: it allocates nothing on the
//! application thread once warm, string fields included (a span with
//! one `tracing` line ~270 ns, ~350 when each line was an `Event`).
//! A poll of a traced future costs what the least possible poll costs. A
//! child of an unsampled parent costs about 3 ns; exporting a span over OTLP
//! costs 0.5–0.8 µs of CPU in all; see `BENCHMARKS.md` in the repository.
//!
//! Trade-offs of this design: span processors' `on_start` is not called for
//! spanflow spans (they are seen at `on_end`); attributes are added to a
//! spanflow span through spanflow ([`Span`], `fields`, `args`, `ret`, `err`,
//! [`current`]), while `opentelemetry::trace::get_active_span` sees a span
//! context it cannot write to, unless the pipeline is built
//! [`with_writable_active_span`](Pipeline::with_writable_active_span) (one
//! more allocation a sampled span); and timestamps (of spans, and of the
//! events and log lines added to them through spanflow) come from a
//! monotonic clock anchored to the wall clock at installation and again
//! every minute (so a correction of the wall clock reaches spans within a
//! minute, and moves those converted after it at once; an event always
//! falls within its span's start and end).
//!
//! To send `#[trace]` spans through an existing provider instead (the SDK's
//! own, slower path), use [`install_tracer_provider`] or
//! [`install_global_tracer_provider`].
//!
//! # Attributes
//!
//! Every span carries `code.function.name`, `code.file.path` and
//! `code.line.number`, but those an instrumentation library opens
//! ([`library_callsite!`]: the adapters' request and message spans);
//! futures add their clocks. The keys are listed in [`attributes`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod active_span;
pub mod attributes;
pub mod baggage;
mod batch;
mod callsite;
mod clock;
mod collector;
pub mod config;
mod context;
pub mod current;
#[cfg(feature = "config-file")]
mod declarative;
mod diagnostics;
pub mod export;
mod export_accounting;
mod future;
mod guard;
mod identifying;
mod ids;
mod interned;
mod late_additions;
mod limits;
// Written by the log bridges and read by the OTLP encoder, each a feature.
#[cfg_attr(
    not(all(feature = "log", feature = "tracing", feature = "otlp")),
    allow(dead_code)
)]
mod log_event;
pub mod logs;
#[cfg(feature = "otlp")]
pub mod otlp;
mod pipeline;
mod probability;
pub mod propagation;
mod record;
mod recorder;
pub mod resource;
mod sampler;
mod shared_processor;
mod shared_state;
mod span;
mod stream;
pub mod tail;
mod task;
mod timeout;
mod value;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use spanflow_macros::trace;

pub use crate::batch::BatchOptions;
pub use crate::callsite::CallSite;
pub use crate::config::{ConfigError, EmbeddedExport};
pub use crate::context::{LinkTarget, ParentContext, current_context, in_context, with_context};
pub use crate::export_accounting::ExportStats;
pub use crate::future::{Traced, TracedExt};
pub use crate::guard::{FlushTimeout, InstallError, PipelineGuard};
pub use crate::identifying::Identifying;
pub use crate::interned::interned_name;
pub use crate::pipeline::{
    DEFAULT_COLLECT_INTERVAL, DEFAULT_EMBEDDED_STORE_SPANS, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_SHUTDOWN_TIMEOUT, MAX_QUEUE_CAPACITY, Pipeline, install_global_tracer_provider,
    install_tracer_provider,
};
pub use crate::resource::ResourceEnv;
pub use crate::sampler::{Sampler, SamplingRules};
pub use crate::span::{Span, SpanGuard};
pub use crate::stream::TracedStream;
#[cfg(feature = "tokio")]
pub use crate::task::{JoinSetExt, Spawned, spawn, spawn_blocking, spawn_local};
pub use crate::value::{ArrayElement, AttributeValue};

/// A [`Pipeline`] that names the service after the calling crate and takes
/// its version (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION`, read when the calling
/// crate compiles), unless code, `OTEL_SERVICE_NAME` /
/// `OTEL_RESOURCE_ATTRIBUTES` or a configuration file say otherwise, and
/// the commit it was built from when the build had `GIT_COMMIT`,
/// `VERGEN_GIT_SHA` or `GITHUB_SHA` set (`option_env!`: an unset variable
/// is no error). Deployment and pod metadata are read when the pipeline
/// installs ([`ResourceEnv`]).
///
/// ```no_run
/// let _tracing = spanflow::pipeline!().install().expect("valid configuration");
/// ```
#[macro_export]
macro_rules! pipeline {
    () => {
        $crate::Pipeline::new()
            .with_crate_defaults(
                ::core::env!("CARGO_PKG_NAME"),
                ::core::env!("CARGO_PKG_VERSION"),
            )
            .with_git_commit(match ::core::option_env!("GIT_COMMIT") {
                ::core::option::Option::Some(commit) => ::core::option::Option::Some(commit),
                ::core::option::Option::None => match ::core::option_env!("VERGEN_GIT_SHA") {
                    ::core::option::Option::Some(commit) => ::core::option::Option::Some(commit),
                    ::core::option::Option::None => ::core::option_env!("GITHUB_SHA"),
                },
            })
    };
}

/// Static call-site metadata for a span named `$name`, for
/// [`TracedStream::with_item_spans`] and [`Span`]s made by hand.
///
/// `kind = client | server | producer | consumer | internal` may follow.
#[macro_export]
macro_rules! callsite {
    ($name:literal) => {
        $crate::callsite!($name, kind = internal)
    };
    ($name:literal, kind = $kind:ident) => {{
        static CALLSITE: $crate::CallSite = $crate::CallSite::new(
            $crate::__private::Naming::Fixed {
                name: $name,
                function: ::core::module_path!(),
            },
            ::core::file!(),
            ::core::line!(),
            $crate::__kind!($kind),
        );
        &CALLSITE
    }};
}

/// [`callsite!`] for instrumentation libraries (spanflow's adapters, or
/// yours): a span opened for the application's work, such as a request or
/// a message, whose `code.*` attributes would name the library's source
/// file rather than the application's, so it has none.
///
/// ```
/// let mut span = spanflow::Span::new(spanflow::library_callsite!("HTTP request", kind = server));
/// span.end();
/// ```
#[macro_export]
macro_rules! library_callsite {
    ($name:literal) => {
        $crate::library_callsite!($name, kind = internal)
    };
    ($name:literal, kind = $kind:ident) => {{
        static CALLSITE: $crate::CallSite = $crate::CallSite::new(
            $crate::__private::Naming::Library { name: $name },
            ::core::file!(),
            ::core::line!(),
            $crate::__kind!($kind),
        );
        &CALLSITE
    }};
}

/// Starts a [`Span`] named `$name` under the current context.
///
/// ```
/// let mut span = spanflow::span!("reconcile", kind = internal);
/// span.in_scope(|| { /* work */ });
/// span.end();
/// ```
#[macro_export]
macro_rules! span {
    ($name:literal $(, kind = $kind:ident)?) => {
        $crate::__private::start($crate::callsite!($name $(, kind = $kind)?), ::core::option::Option::None)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __kind {
    (internal) => {
        $crate::__private::Kind::Internal
    };
    (client) => {
        $crate::__private::Kind::Client
    };
    (server) => {
        $crate::__private::Kind::Server
    };
    (producer) => {
        $crate::__private::Kind::Producer
    };
    (consumer) => {
        $crate::__private::Kind::Consumer
    };
}
