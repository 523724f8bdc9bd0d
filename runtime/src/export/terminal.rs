//! Printing each finished trace as a tree.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::trace::Trace;
use super::tree::{TreeStyle, render_tree};
use super::tree_writer::TreeWriter;

/// Spans held while waiting for their trace's root, unless configured.
pub const DEFAULT_PENDING_SPANS: usize = 10_000;

/// A `SpanExporter` that prints each trace as a tree (see
/// [`render_tree`](super::render_tree)) once it is complete.
///
/// A trace is complete when its root span (one without a parent) ends. A
/// process that serves requests from other processes never sees the root:
/// there, a trace is printed once the span with the remote parent has ended
/// and no span of the trace has arrived for a quiet period (one second,
/// watched by a thread started for the first such trace). Services in one
/// process calling each other over HTTP are then drawn as one tree, not one
/// per hop. Spans wait in a bounded buffer; when it is full, the oldest
/// waiting trace is printed as it is. A flush or shutdown prints every
/// waiting trace.
///
/// Trees are written by a thread of their own (`spanflow-terminal-writer`),
/// so that an output that is slow or blocked (a pipe nobody reads) holds
/// neither the thread that exports spans nor the other exports beside this
/// one: up to 4 MiB of drawn trees wait for it, and trees beyond that are
/// left out and their number written in their place. A flush waits for the
/// output at most 5 seconds (a shutdown, its timeout).
pub struct TerminalExporter {
    state: Arc<Mutex<State>>,
    writer: Arc<TreeWriter>,
    /// Prints traces whose quiet period has passed, so that a server's last
    /// request is drawn without waiting for the next one; `None` if the
    /// thread could not be started (then they are printed when spans
    /// arrive).
    watcher: OnceLock<Option<Thread>>,
}

/// How long a trace whose local root had a remote parent waits for more
/// spans before it is printed.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

struct Pending {
    spans: Vec<SpanData>,
    last_arrival: Instant,
    remote_root_ended: bool,
}

/// How often the watcher looks for traces whose quiet period has passed.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// How long a flush waits for the output to take the trees drawn so far.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

struct State {
    writer: Arc<TreeWriter>,
    style: TreeStyle,
    pending: HashMap<TraceId, Pending>,
    order: VecDeque<TraceId>,
    pending_spans: usize,
    max_pending: usize,
    /// A trace is waiting out its quiet period.
    quiet_waiting: bool,
    /// Shut down: the watcher stops.
    closed: bool,
}

impl TerminalExporter {
    /// Prints to standard output, in colour when it is a terminal and
    /// `NO_COLOR` is not set.
    pub fn stdout() -> Self {
        let style = TreeStyle::for_stream(&std::io::stdout());
        TerminalExporter::to_writer(Box::new(std::io::stdout()), style)
    }

    /// Prints to standard error, likewise.
    pub fn stderr() -> Self {
        let style = TreeStyle::for_stream(&std::io::stderr());
        TerminalExporter::to_writer(Box::new(std::io::stderr()), style)
    }

    /// Prints to any writer.
    pub fn to_writer(out: Box<dyn Write + Send>, style: TreeStyle) -> Self {
        let writer = Arc::new(TreeWriter::start(out));
        TerminalExporter {
            writer: Arc::clone(&writer),
            state: Arc::new(Mutex::new(State {
                writer,
                style,
                pending: HashMap::new(),
                order: VecDeque::new(),
                pending_spans: 0,
                max_pending: DEFAULT_PENDING_SPANS,
                quiet_waiting: false,
                closed: false,
            })),
            watcher: OnceLock::new(),
        }
    }

    /// How many spans may wait for their root (default
    /// [`DEFAULT_PENDING_SPANS`]).
    pub fn with_max_pending_spans(self, spans: usize) -> Self {
        self.lock().max_pending = spans.max(1);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Starts the watcher, once.
    fn watch(&self) {
        self.watcher.get_or_init(|| {
            let state = Arc::downgrade(&self.state);
            thread::Builder::new()
                .name("spanflow-terminal".into())
                .spawn(move || watch(&state))
                .ok()
                .map(|handle| handle.thread().clone())
        });
    }
}

/// The watcher's loop: ends when the exporter is dropped or shut down.
fn watch(state: &Weak<Mutex<State>>) {
    loop {
        thread::park_timeout(WATCH_EVERY);
        let Some(state) = state.upgrade() else {
            return;
        };
        let mut state = lock(&state);
        if state.closed {
            return;
        }
        // A failed write has no caller to go to here; the next export's
        // write fails the same way and reports it.
        let _ = state.print_quiet(Instant::now());
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn add(&mut self, batch: Vec<SpanData>) -> std::io::Result<()> {
        let now = Instant::now();
        let mut complete = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let root = span.parent_span_id == opentelemetry::trace::SpanId::INVALID;
            let remote_root = span.parent_span_is_remote;
            let pending = self.pending.entry(trace_id).or_insert_with(|| Pending {
                spans: Vec::new(),
                last_arrival: now,
                remote_root_ended: false,
            });
            if pending.spans.is_empty() {
                self.order.push_back(trace_id);
            }
            pending.spans.push(span);
            pending.last_arrival = now;
            pending.remote_root_ended |= remote_root;
            self.quiet_waiting |= remote_root;
            self.pending_spans += 1;
            if root && !complete.contains(&trace_id) {
                complete.push(trace_id);
            }
        }
        for trace_id in complete {
            self.print(trace_id)?;
        }
        self.print_quiet(now)?;
        while self.pending_spans > self.max_pending {
            let Some(oldest) = self.order.front().copied() else {
                break;
            };
            self.print(oldest)?;
        }
        Ok(())
    }

    /// Prints the traces whose local root had a remote parent and which
    /// have been quiet for [`QUIET_PERIOD`].
    fn print_quiet(&mut self, now: Instant) -> std::io::Result<()> {
        if !self.quiet_waiting {
            return Ok(());
        }
        let quiet: Vec<TraceId> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.remote_root_ended && now.duration_since(p.last_arrival) >= QUIET_PERIOD
            })
            .map(|(id, _)| *id)
            .collect();
        for trace_id in quiet {
            self.print(trace_id)?;
        }
        self.quiet_waiting = self.pending.values().any(|p| p.remote_root_ended);
        Ok(())
    }

    fn print(&mut self, trace_id: TraceId) -> std::io::Result<()> {
        self.order.retain(|id| *id != trace_id);
        let Some(pending) = self.pending.remove(&trace_id) else {
            return Ok(());
        };
        self.pending_spans -= pending.spans.len();
        self.writer
            .send(render_tree(&Trace::new(pending.spans), self.style))
    }

    fn print_all(&mut self) -> std::io::Result<()> {
        while let Some(oldest) = self.order.front().copied() {
            self.print(oldest)?;
        }
        Ok(())
    }
}

fn failure(error: std::io::Error) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("writing a trace to the terminal failed: {error}"))
}

impl SpanExporter for TerminalExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let waiting = {
            let mut state = self.lock();
            state.add(batch).map_err(failure)?;
            state.quiet_waiting && !state.closed
        };
        if waiting {
            self.watch();
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lock().print_all().map_err(failure)?;
        self.writer.wait_written(FLUSH_WAIT).map_err(failure)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        {
            let mut state = self.lock();
            state.closed = true;
            state.print_all().map_err(failure)?;
        }
        self.writer.wait_written(timeout).map_err(failure)
    }
}

impl Drop for TerminalExporter {
    fn drop(&mut self) {
        // The watcher then finds the state gone at once, not a tick later.
        if let Some(Some(watcher)) = self.watcher.get() {
            watcher.unpark();
        }
    }
}

impl fmt::Debug for TerminalExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("TerminalExporter")
            .field("style", &state.style)
            .field("pending_spans", &state.pending_spans)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::export::trace::tests::timed;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        /// What was written, once every tree drawn so far is.
        fn printed(&self, exporter: &TerminalExporter) -> String {
            exporter
                .writer
                .wait_written(Duration::from_secs(10))
                .unwrap();
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn exporter() -> (TerminalExporter, Shared) {
        let out = Shared::default();
        let exporter = TerminalExporter::to_writer(Box::new(out.clone()), TreeStyle::PLAIN);
        (exporter, out)
    }

    #[test]
    fn hops_with_remote_parents_wait_for_the_root_of_the_trace() {
        let (exporter, out) = exporter();
        let printed = || out.printed(&exporter);
        let mut hop = timed(1, 3, 2, 2, 8, "GET /users/{id}");
        hop.parent_span_is_remote = true;
        futures_executor_block_on(exporter.export(vec![hop])).unwrap();
        futures_executor_block_on(exporter.export(vec![timed(1, 2, 1, 1, 9, "GET")])).unwrap();
        assert_eq!(printed(), "", "the hop's trace goes on in this process");
        futures_executor_block_on(exporter.export(vec![timed(1, 1, 0, 0, 10, "POST /checkout")]))
            .unwrap();
        let drawn = printed();
        assert_eq!(drawn.matches("Trace:").count(), 1, "{drawn}");
        assert!(drawn.contains("GET /users/{id}"), "{drawn}");
    }

    #[test]
    fn a_quiet_hop_is_printed_without_waiting_for_more_spans() {
        let (exporter, out) = exporter();
        let printed = || out.printed(&exporter);
        let mut hop = timed(1, 3, 2, 2, 8, "GET /users/{id}");
        hop.parent_span_is_remote = true;
        let exported = Instant::now();
        futures_executor_block_on(exporter.export(vec![hop])).unwrap();
        assert_eq!(printed(), "", "more of the trace may come");
        // Nothing more is exported: the watcher prints it.
        let deadline = exported + QUIET_PERIOD * 10;
        while printed().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let waited = exported.elapsed();
        assert!(printed().contains("GET /users/{id}"), "{}", printed());
        assert!(waited >= QUIET_PERIOD, "printed after {waited:?}");
        exporter
            .shutdown_with_timeout(Duration::from_secs(1))
            .unwrap();
    }

    #[test]
    fn a_trace_is_printed_when_its_root_ends_and_the_rest_on_shutdown() {
        let (exporter, out) = exporter();
        let printed = || out.printed(&exporter);
        futures_executor_block_on(exporter.export(vec![timed(1, 2, 1, 1, 5, "child")])).unwrap();
        assert_eq!(printed(), "");
        futures_executor_block_on(exporter.export(vec![timed(1, 1, 0, 0, 10, "root")])).unwrap();
        assert!(printed().starts_with("Trace: \"root\" 10ms"));
        assert!(printed().contains("└── * child"));

        futures_executor_block_on(exporter.export(vec![timed(2, 4, 3, 0, 5, "orphan")])).unwrap();
        exporter
            .shutdown_with_timeout(Duration::from_secs(1))
            .unwrap();
        assert!(printed().contains("Trace: \"orphan\""));
    }

    /// The exporter's futures complete at once; poll them without a runtime.
    fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the exporter never waits"),
        }
    }
}
