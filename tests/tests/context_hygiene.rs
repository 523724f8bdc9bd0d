//! Property test of context hygiene: random trees of plain awaits, spawns,
//! selects that drop the loser, timeouts that cancel, and panics keep every
//! parent link right, give every node its own span exactly once, and leave
//! no thread with a context it did not have.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use proptest::prelude::*;
use spanflow::{PipelineGuard, TracedExt};

#[derive(Clone, Debug)]
enum Op {
    Plain,
    Spawn,
    Select,
    Timeout,
    Panic,
}

#[derive(Clone, Debug)]
struct Node {
    op: Op,
    children: Vec<Node>,
}

fn tree() -> impl Strategy<Value = Node> {
    let op = prop_oneof![
        Just(Op::Plain),
        Just(Op::Spawn),
        Just(Op::Select),
        Just(Op::Timeout),
        Just(Op::Panic),
    ];
    let leaf = op.clone().prop_map(|op| Node {
        op,
        children: Vec::new(),
    });
    leaf.prop_recursive(3, 24, 3, move |inner| {
        (op.clone(), proptest::collection::vec(inner, 0..3))
            .prop_map(|(op, children)| Node { op, children })
    })
}

/// Nodes created (id, parent id), and what went wrong inside bodies (a
/// failed assertion there would be lost in a cancelled or panicking task).
#[derive(Default)]
struct Log {
    created: Mutex<Vec<(u64, u64)>>,
    violations: Mutex<Vec<String>>,
    /// Node futures not yet finished or dropped: a spawned task whose
    /// awaiting parent was cancelled (by a select or a timeout) runs on,
    /// detached, after the tree's own future has returned.
    live: AtomicU64,
}

/// Counts a node future as live until it is finished or dropped (after its
/// span has ended: `Traced` ends the span before dropping what it wraps).
struct Alive(Arc<Log>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The node's future, its span started now under the current context.
fn node(node: Node, parent: u64, log: Arc<Log>) -> Boxed {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    log.created.lock().unwrap().push((id, parent));
    let mut span = spanflow::span!("node");
    span.set_attribute(KeyValue::new("node.id", id as i64));
    let own = span.span_context().span_id();
    log.live.fetch_add(1, Ordering::AcqRel);
    let alive = Alive(Arc::clone(&log));
    let body = async move {
        let _alive = alive;
        let current = Context::current().span().span_context().span_id();
        if current != own {
            log.violations
                .lock()
                .unwrap()
                .push(format!("node {id} runs in {current}, not {own}"));
        }
        for child in node.children {
            run(child, id, Arc::clone(&log)).await;
            let back = Context::current().span().span_context().span_id();
            if back != own {
                log.violations
                    .lock()
                    .unwrap()
                    .push(format!("after a child, node {id} is in {back}"));
            }
        }
        tokio::task::yield_now().await;
        if matches!(node.op, Op::Panic) {
            panic!("node {id} panics on purpose");
        }
    };
    Box::pin(body.in_span(span))
}

/// Runs `child` the way its op says.
fn run(child: Node, parent: u64, log: Arc<Log>) -> Boxed {
    Box::pin(async move {
        let op = child.op.clone();
        let future = node(child, parent, log);
        match op {
            Op::Plain => future.await,
            Op::Spawn | Op::Panic => {
                let _ = spanflow::spawn(future).await;
            }
            Op::Select => {
                tokio::select! {
                    () = future => {}
                    () = tokio::task::yield_now() => {}
                }
            }
            Op::Timeout => {
                let _ = tokio::time::timeout(Duration::ZERO, future).await;
            }
        }
    })
}

fn setup() -> &'static (tokio::runtime::Runtime, InMemorySpanExporter, PipelineGuard) {
    static SETUP: OnceLock<(tokio::runtime::Runtime, InMemorySpanExporter, PipelineGuard)> =
        OnceLock::new();
    SETUP.get_or_init(|| {
        // The nodes' panics are on purpose; their messages would bury the
        // output. Any other panic (a failed property) still speaks.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_purpose = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|message| message.ends_with("panics on purpose"));
            if !on_purpose {
                default_hook(info);
            }
        }));
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .install()
            .expect("the only pipeline of this binary");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        (runtime, exporter, pipeline)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_keep_parents_and_leave_contexts_clean(root_children in proptest::collection::vec(tree(), 1..4)) {
        let (runtime, exporter, pipeline) = setup();
        let log = Arc::new(Log::default());
        let root = spanflow::span!("tree");
        let trace = root.span_context().trace_id();
        let root_id = 0;
        let work = {
            let log = Arc::clone(&log);
            async move {
                for child in root_children {
                    run(child, root_id, Arc::clone(&log)).await;
                }
            }
            .in_span(root)
        };
        runtime.block_on(work);
        // Detached tasks (see `Log::live`) have no handle to join: wait,
        // boundedly, until every node has finished or been dropped.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while log.live.load(Ordering::Acquire) > 0 {
            prop_assert!(std::time::Instant::now() < deadline, "nodes still running");
            std::thread::sleep(Duration::from_millis(1));
        }

        // No thread keeps a context: not this one, not the workers.
        prop_assert!(!Context::current().span().span_context().is_valid());
        let probes = runtime.block_on(async {
            let mut leaked = 0;
            for _ in 0..16 {
                let valid = tokio::spawn(async {
                    tokio::task::yield_now().await;
                    Context::current().span().span_context().is_valid()
                });
                leaked += u32::from(valid.await.unwrap());
            }
            leaked
        });
        prop_assert_eq!(probes, 0);

        let violations = log.violations.lock().unwrap().clone();
        prop_assert!(violations.is_empty(), "{:?}", violations);

        pipeline.flush().unwrap();
        let spans: Vec<_> = exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|span| span.span_context.trace_id() == trace)
            .collect();
        let id_of = |span_id: SpanId| {
            spans.iter().find(|s| s.span_context.span_id() == span_id).map(|s| {
                match s.attributes.iter().find(|kv| kv.key.as_str() == "node.id") {
                    Some(kv) => match kv.value { Value::I64(id) => id as u64, _ => u64::MAX },
                    None => 0, // the root
                }
            })
        };
        let mut exported: Vec<(u64, u64)> = spans
            .iter()
            .filter(|span| span.name == "node")
            .map(|span| {
                let id = id_of(span.span_context.span_id()).unwrap();
                (id, id_of(span.parent_span_id).unwrap_or(u64::MAX))
            })
            .collect();
        exported.sort_unstable();
        let mut created = log.created.lock().unwrap().clone();
        created.sort_unstable();
        prop_assert_eq!(exported, created, "each node once, under its parent");
        prop_assert_ne!(trace, TraceId::INVALID);
    }
}
