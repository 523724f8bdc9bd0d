//! spanflow's OTLP span processor: each span is encoded as it ends, into
//! the request being built; full requests queue for the sender threads.
//!
//! It takes the place of the SDK's `BatchSpanProcessor` + opentelemetry-otlp
//! pair for every OTLP protocol (JSON bodies are made from the protobuf
//! request when it is sent; see `transport`), with the same settings
//! (`OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_*`). The SDK pair moves every span
//! through a channel, then converts the batch to opentelemetry-proto's
//! structs and encodes those; here a span is written once, on the thread
//! that ends it, and dropped where it was made. Requests are sent by
//! `OTEL_BSP_MAX_CONCURRENT_EXPORTS` sender threads (one by default), so
//! that a receiver far away does not hold the export to one request per
//! round trip. `#[trace]` spans come from
//! spanflow's collector thread, as `SpanData` or (when this processor is
//! the only export) as the records themselves ([`RecordSink`]); spans of
//! the OpenTelemetry API come from the threads that end them. Memory is
//! bounded the same way: the request being built holds at most
//! `max_export_batch_size` spans, the queue (`crate::batch`'s, which other
//! exporters' batching shares) at most `max_queue_size`; a batch that does
//! not fit is dropped and shows in
//! [`ExportStats::unaccounted`](crate::ExportStats::unaccounted).

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::OtlpTarget;
use super::encode::{self, ScopeBody};
use super::options::RequestOptions;
use super::retry::Retry;
use super::transport::Transport;
use crate::batch::{BatchOptions, Queue, SpanCount, lock};
use crate::clock::WallAnchor;
use crate::collector::RecordSink;
use crate::export_accounting::ExportCounters;
use crate::record::SpanRecord;
use crate::timeout::deadline_after;

/// Requests above this size are cut early: receivers commonly refuse
/// messages over 4 MiB (gRPC's default limit).
const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

pub(crate) struct OtlpProcessor {
    shared: Arc<Shared>,
    sender: Mutex<Option<SenderThread>>,
}

/// The first sender thread (which ends after the others), and the channel
/// that disconnects when it ends.
type SenderThread = (JoinHandle<()>, mpsc::Receiver<Result<(), String>>);

struct Shared {
    building: Mutex<Building>,
    queue: Queue<Batch>,
    counters: Arc<ExportCounters>,
    options: BatchOptions,
    retry: Retry,
}

/// The request being built.
#[derive(Default)]
struct Building {
    resource: Vec<u8>,
    resource_schema_url: String,
    scopes: Vec<ScopeSpans>,
    /// Where the collector's records go in `scopes`: they all share one
    /// scope, and comparing `InstrumentationScope`s (OpenTelemetry's `==`
    /// sorts their attributes) was a tenth of the collector's work per span.
    /// Found again after `take`, which may drop scopes.
    records_scope: Option<usize>,
    spans: usize,
    bytes: usize,
}

struct ScopeSpans {
    scope: InstrumentationScope,
    encoded_scope: Vec<u8>,
    spans: Vec<u8>,
}

/// A request ready to send.
struct Batch {
    body: Bytes,
    spans: usize,
}

impl SpanCount for Batch {
    fn span_count(&self) -> usize {
        self.spans
    }
}

impl OtlpProcessor {
    /// Starts the sender threads; the first sets up the client and starts
    /// the others.
    pub(crate) fn start(
        target: &OtlpTarget,
        request: RequestOptions,
        options: BatchOptions,
        counters: &Arc<ExportCounters>,
    ) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            building: Mutex::new(Building::default()),
            queue: Queue::new(options.max_queue_size),
            counters: Arc::clone(counters),
            options,
            retry: target.retry,
        });
        // Says whether the client was set up, then disconnects when the
        // thread ends (it owns the sending half).
        let (ready, connected) = mpsc::channel();
        let target = target.clone();
        let worker = Arc::clone(&shared);
        let sender = thread::Builder::new()
            .name("spanflow-otlp".into())
            .spawn(move || {
                let started = Transport::connect(&target, request).and_then(|transport| {
                    let others = worker.start_other_senders(&transport)?;
                    Ok((transport, others))
                });
                match started {
                    Ok((transport, others)) => {
                        let _ = ready.send(Ok(()));
                        let schedule_delay = worker.options.schedule_delay;
                        worker.run(transport, Some(schedule_delay));
                        // The client (a clone in each) goes last, here.
                        for other in others {
                            let _ = other.join();
                        }
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }
            })
            .map_err(|error| format!("could not start the OTLP sender thread: {error}"))?;
        connected
            .recv()
            .unwrap_or_else(|_| Err("the OTLP sender thread ended".into()))?;
        Ok(OtlpProcessor {
            shared,
            sender: Mutex::new(Some((sender, connected))),
        })
    }
}

impl SpanProcessor for OtlpProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.shared.add(|building| {
            building.add(&span.instrumentation_scope, |spans| {
                encode::span(spans, &span)
            })
        });
        // Dropped here, outside the lock, on the thread that made it.
        drop(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush(self.shared.options.export_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // The senders finish their current requests (bounded by the
        // export's time) before they see the queue stopped.
        self.shared.queue.shut_down(
            |within| self.shared.flush(within),
            lock(&self.sender).take(),
            self.shared.options.export_timeout,
            timeout,
        )
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.use_resource(resource);
    }
}

impl RecordSink for OtlpProcessor {
    fn on_record(&self, record: &mut SpanRecord, anchor: WallAnchor, scope: &InstrumentationScope) {
        self.shared.add(|building| {
            building.add_record(scope, |spans| encode::record_span(spans, record, anchor))
        });
        record.clear();
    }
}

impl OtlpProcessor {
    /// The resource every request carries.
    pub(crate) fn use_resource(&self, resource: &Resource) {
        let mut building = lock(&self.shared.building);
        building.resource.clear();
        encode::resource(&mut building.resource, resource);
        building.resource_schema_url = resource.schema_url().unwrap_or_default().to_owned();
    }
}

/// The processor shared between the pipeline's processors (flushed and
/// shut down there) and the collector, which hands it records directly.
#[derive(Debug)]
pub(crate) struct SharedOtlp(pub(crate) Arc<OtlpProcessor>);

impl SpanProcessor for SharedOtlp {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.use_resource(resource);
    }
}

impl Building {
    /// Appends one span of `scope`, which `write` encodes.
    fn add(&mut self, scope: &InstrumentationScope, write: impl FnOnce(&mut Vec<u8>)) {
        let index = self.scope_index(scope);
        self.write(index, write);
    }

    /// [`Building::add`] for the collector's records, whose scope is always
    /// the same.
    fn add_record(&mut self, scope: &InstrumentationScope, write: impl FnOnce(&mut Vec<u8>)) {
        let index = match self.records_scope {
            Some(index) => {
                debug_assert!(
                    self.scopes[index].scope == *scope,
                    "one collector, one scope"
                );
                index
            }
            None => {
                let index = self.scope_index(scope);
                self.records_scope = Some(index);
                index
            }
        };
        self.write(index, write);
    }

    fn scope_index(&mut self, scope: &InstrumentationScope) -> usize {
        // Usually one scope (spanflow's), a few with OpenTelemetry API spans.
        match self.scopes.iter().position(|known| known.scope == *scope) {
            Some(index) => index,
            None => {
                let mut encoded_scope = Vec::new();
                encode::scope(&mut encoded_scope, scope);
                self.scopes.push(ScopeSpans {
                    scope: scope.clone(),
                    encoded_scope,
                    spans: Vec::new(),
                });
                self.scopes.len() - 1
            }
        }
    }

    fn write(&mut self, index: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let spans = &mut self.scopes[index].spans;
        let before = spans.len();
        write(spans);
        self.bytes += spans.len() - before;
        self.spans += 1;
    }

    /// The request so far; the scopes' buffers stay for the next one.
    fn take(&mut self) -> Batch {
        let bodies: Vec<ScopeBody<'_>> = self
            .scopes
            .iter()
            .filter(|scope| !scope.spans.is_empty())
            .map(|scope| ScopeBody {
                scope: &scope.encoded_scope,
                schema_url: scope.scope.schema_url().unwrap_or_default(),
                spans: &scope.spans,
            })
            .collect();
        let body = encode::request(&self.resource, &self.resource_schema_url, &bodies);
        let batch = Batch {
            body: Bytes::from(body),
            spans: self.spans,
        };
        // Scopes seen lately stay (with their buffers); others go, so a
        // burst of one-off scopes does not stay forever.
        self.scopes.retain_mut(|scope| {
            let used = !scope.spans.is_empty();
            scope.spans.clear();
            used
        });
        self.records_scope = None;
        self.spans = 0;
        self.bytes = 0;
        batch
    }
}

impl Shared {
    /// Counts one span, which `add` puts into the request being built; a
    /// full batch goes to the queue.
    fn add(&self, add: impl FnOnce(&mut Building)) {
        self.counters.offer(1);
        let full = {
            let mut building = lock(&self.building);
            add(&mut building);
            let full = building.spans >= self.options.max_export_batch_size
                || building.bytes >= MAX_REQUEST_BYTES;
            full.then(|| building.take())
        };
        if let Some(batch) = full {
            // A batch that does not fit is dropped: offered, never exported.
            let _ = self.queue.push(batch);
        }
    }

    /// The request being built, if it holds any span.
    fn take_partial(&self) -> Option<Batch> {
        let mut building = lock(&self.building);
        (building.spans > 0).then(|| building.take())
    }

    /// Sends what is being built and waits, at most `timeout`, until
    /// everything queued before has been answered.
    fn flush(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.flush(self.take_partial(), timeout)
    }

    /// The sender threads after the first, each with a clone of its
    /// client; stopped and joined again if one cannot start.
    fn start_other_senders(
        self: &Arc<Self>,
        transport: &Transport,
    ) -> Result<Vec<JoinHandle<()>>, String> {
        let mut others = Vec::with_capacity(self.options.max_concurrent_exports.saturating_sub(1));
        for _ in 1..self.options.max_concurrent_exports {
            let worker = Arc::clone(self);
            let transport = transport.clone();
            let started = thread::Builder::new()
                .name("spanflow-otlp".into())
                .spawn(move || worker.run(transport, None));
            match started {
                Ok(other) => others.push(other),
                Err(error) => {
                    self.queue.stop();
                    for other in others {
                        let _ = other.join();
                    }
                    return Err(format!(
                        "could not start {} OTLP sender threads \
                         (OTEL_BSP_MAX_CONCURRENT_EXPORTS): {error}",
                        self.options.max_concurrent_exports
                    ));
                }
            }
        }
        Ok(others)
    }

    /// A sender thread: sends queued requests, and, on the thread given a
    /// `schedule_delay`, what is being built once it has waited that long.
    fn run(&self, mut transport: Transport, schedule_delay: Option<Duration>) {
        // As the SDK's batch thread: the HTTP client's own calls are not
        // traced into the export.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        self.queue.serve(
            schedule_delay,
            || self.take_partial(),
            |batch| {
                let spans = batch.spans as u64;
                // A panic in a client library loses this batch, not the
                // sender: a sender that ended left every later flush
                // waiting.
                let sent =
                    panic::catch_unwind(AssertUnwindSafe(|| self.send(&mut transport, batch)));
                if sent.is_err() {
                    self.counters.failed(spans, &"the OTLP sender panicked");
                }
            },
            || {},
        );
    }

    /// Sends one batch, retrying transient failures as `retry` says, all
    /// within the export's time; a shutdown ends the waiting.
    fn send(&self, transport: &mut Transport, batch: Batch) {
        let spans = batch.spans as u64;
        let body = match transport.prepare(batch.body) {
            Ok(body) => body,
            Err(error) => {
                self.counters.failed(spans, &error.message);
                return;
            }
        };
        // As OpenTelemetry's OTLP exporters for Go, Java and Rust do, the
        // request timeout bounds the whole export, its retries and the
        // waits between them included, and `OTEL_BSP_EXPORT_TIMEOUT` bounds
        // it too. With retries bounded only by their count, a receiver that
        // never answers held a sender ~5 request timeouts per batch.
        let budget = transport.timeout().min(self.options.export_timeout);
        let deadline = deadline_after(budget);
        let time_left = || deadline.saturating_duration_since(Instant::now());
        let mut attempt = 1;
        let mut out_of_time = false;
        let error = loop {
            match transport.send(&body, time_left()) {
                Ok(accepted) => {
                    let rejected = accepted.rejected.min(spans);
                    self.counters.exported(spans - rejected);
                    if rejected > 0 {
                        self.counters.failed(
                            rejected,
                            &format!("the receiver rejected {rejected} of {spans} spans"),
                        );
                    }
                    return;
                }
                Err(error) if error.transient && attempt < self.retry.max_attempts => {
                    let wait = error
                        .retry_after
                        .unwrap_or_else(|| self.retry.backoff(attempt, fastrand::f64()));
                    if wait >= time_left() {
                        out_of_time = true;
                        break error;
                    }
                    if !self.queue.wait_unless_stopping(wait) {
                        break error;
                    }
                    self.counters.retried(spans);
                    attempt += 1;
                }
                Err(error) => break error,
            }
        };
        let mut message = error.message;
        if attempt > 1 {
            message.push_str(&format!(" after {attempt} attempts"));
        }
        if out_of_time {
            message.push_str(&format!(
                "; no time left for another attempt within the export's {budget:?} \
                 (OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_EXPORT_TIMEOUT)"
            ));
        }
        self.counters.failed(spans, &message);
    }
}

impl fmt::Debug for OtlpProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpProcessor")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl Drop for OtlpProcessor {
    fn drop(&mut self) {
        self.shared.queue.stop();
    }
}

#[cfg(test)]
mod tests;
