//! Traced messages on a real actix System.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry::{Context as OtelContext, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use spanflow::PipelineGuard;
use spanflow_actix::{Traced, TracedSend, traced_handler};

fn installed() -> &'static (InMemorySpanExporter, PipelineGuard) {
    static INSTALLED: OnceLock<(InMemorySpanExporter, PipelineGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let pipeline = spanflow::Pipeline::new()
            .with_simple_exporter(exporter.clone())
            .install()
            .expect("the only pipeline of this binary");
        (exporter, pipeline)
    })
}

fn spans_of(trace: TraceId) -> Vec<SpanData> {
    let (exporter, pipeline) = installed();
    pipeline.flush().unwrap();
    exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect()
}

fn current_trace() -> TraceId {
    OtelContext::current().span().span_context().trace_id()
}

fn mailbox_ns(span: &SpanData) -> i64 {
    match span
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "spanflow.mailbox_ns")
    {
        Some(kv) => match kv.value {
            Value::I64(ns) => ns,
            _ => panic!("mailbox_ns is an integer"),
        },
        None => panic!("{} has no mailbox time", span.name),
    }
}

// ---- A → B → C ----------------------------------------------------------------

#[derive(Message)]
#[rtype(result = "()")]
struct Note;

#[derive(Message)]
#[rtype(result = "TraceId")]
struct Sync;

#[derive(Message)]
#[rtype(result = "u32")]
struct Forward;

#[derive(Message)]
#[rtype(result = "u32")]
struct Start;

struct C {
    seen: Arc<Mutex<Vec<TraceId>>>,
}

impl Actor for C {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Note> for C {
    type Result = ();
    fn handle(&mut self, _: Note, _: &mut Context<Self>) {
        self.seen.lock().unwrap().push(current_trace());
    }
}

#[traced_handler]
impl Handler<Sync> for C {
    type Result = MessageResult<Sync>;
    fn handle(&mut self, _: Sync, _: &mut Context<Self>) -> Self::Result {
        MessageResult(current_trace())
    }
}

struct B {
    c: Addr<C>,
    c_recipient: Recipient<Traced<Note>>,
}

impl Actor for B {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Forward> for B {
    type Result = u32;
    fn handle(&mut self, _: Forward, _: &mut Context<Self>) -> u32 {
        self.c.do_send_traced(Note);
        self.c_recipient
            .try_send_traced(Note)
            .expect("room in the mailbox");
        2
    }
}

struct A {
    b: Addr<B>,
}

impl Actor for A {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Start> for A {
    type Result = ResponseFuture<u32>;
    fn handle(&mut self, _: Start, _: &mut Context<Self>) -> Self::Result {
        let b = self.b.clone();
        // The future runs as its own task: the context must follow it, into
        // a task it spawns (spanflow::spawn_local, not actix::spawn, which
        // like tokio::spawn starts tasks with no context) and into B.
        Box::pin(async move {
            let spawned = spanflow::spawn_local(async { current_trace() })
                .await
                .unwrap();
            assert_eq!(
                spawned,
                current_trace(),
                "the spawned task is in the handler's trace"
            );
            b.send_traced(Forward).await.unwrap() + 1
        })
    }
}

#[actix::test]
async fn a_chain_of_actors_mixing_every_send_is_one_trace() {
    installed();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let c = C { seen: seen.clone() }.start();
    let b = B {
        c: c.clone(),
        c_recipient: c.clone().recipient::<Traced<Note>>(),
    }
    .start();
    let a = A { b }.start();

    let root = spanflow::span!("request");
    let trace = root.span_context().trace_id();
    let answer = spanflow::TracedExt::in_span(async { a.send_traced(Start).await }, root).await;
    assert_eq!(answer, Ok(3));
    // C handles in order: once Sync answers, both notes were handled.
    let synced = spanflow::in_context(OtelContext::new(), c.send_traced(Sync))
        .await
        .unwrap();
    assert_ne!(synced, trace, "a send with no trace starts its own");
    assert_eq!(*seen.lock().unwrap(), [trace, trace]);

    let spans = spans_of(trace);
    let find = |name: &str| -> Vec<&SpanData> { spans.iter().filter(|s| s.name == name).collect() };
    let root = find("request")[0];
    let start_send = find("Start send")[0];
    let a_handle = find("A handle Start")[0];
    let b_handle = find("B handle Forward")[0];
    let note_handles = find("C handle Note");
    assert_eq!(start_send.parent_span_id, root.span_context.span_id());
    assert_eq!(start_send.span_kind, SpanKind::Producer);
    assert_eq!(a_handle.parent_span_id, start_send.span_context.span_id());
    assert_eq!(a_handle.span_kind, SpanKind::Consumer);
    assert_eq!(
        find("Forward send")[0].parent_span_id,
        a_handle.span_context.span_id()
    );
    assert_eq!(
        b_handle.parent_span_id,
        find("Forward send")[0].span_context.span_id()
    );
    assert_eq!(
        note_handles.len(),
        2,
        "do_send and the Recipient's try_send"
    );
    for handle in note_handles {
        let send = spans
            .iter()
            .find(|s| s.span_context.span_id() == handle.parent_span_id)
            .unwrap();
        assert_eq!(send.name, "Note send");
        assert_eq!(send.parent_span_id, b_handle.span_context.span_id());
        assert!(mailbox_ns(handle) >= 0);
    }
    // The ResponseFuture ran inside A's handler span, to its end.
    assert!(a_handle.end_time >= b_handle.end_time);
}

// ---- concurrency ----------------------------------------------------------------

#[derive(Message)]
#[rtype(result = "TraceId")]
struct WhichTrace;

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<WhichTrace> for Echo {
    type Result = MessageResult<WhichTrace>;
    fn handle(&mut self, _: WhichTrace, _: &mut Context<Self>) -> Self::Result {
        MessageResult(current_trace())
    }
}

#[actix::test]
async fn ten_thousand_messages_from_ten_traces_keep_their_traces() {
    installed();
    let echo = Echo.start();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let echo = echo.clone();
        tasks.push(actix::spawn(async move {
            let root = spanflow::span!("sender");
            let trace = root.span_context().trace_id();
            let replies = spanflow::TracedExt::in_span(
                async {
                    let mut replies = Vec::with_capacity(1000);
                    for _ in 0..1000 {
                        replies.push(echo.send_traced(WhichTrace).await.unwrap());
                    }
                    replies
                },
                root,
            )
            .await;
            (trace, replies)
        }));
    }
    let mut traces = std::collections::HashSet::new();
    for task in tasks {
        let (trace, replies) = task.await.unwrap();
        assert!(
            replies.iter().all(|reply| *reply == trace),
            "a message changed trace"
        );
        traces.insert(trace);
    }
    assert_eq!(traces.len(), 10);
}

// ---- SyncArbiter ---------------------------------------------------------------

struct Blocking;

impl Actor for Blocking {
    type Context = SyncContext<Self>;
}

#[traced_handler]
impl Handler<WhichTrace> for Blocking {
    type Result = MessageResult<WhichTrace>;
    fn handle(&mut self, _: WhichTrace, _: &mut SyncContext<Self>) -> Self::Result {
        MessageResult(current_trace())
    }
}

#[actix::test]
async fn a_sync_arbiter_of_three_threads_handles_in_the_senders_trace() {
    installed();
    let pool = SyncArbiter::start(3, || Blocking);
    let root = spanflow::span!("batch");
    let trace = root.span_context().trace_id();
    let replies = spanflow::TracedExt::in_span(
        async {
            let sends: Vec<_> = (0..30).map(|_| pool.send_traced(WhichTrace)).collect();
            let mut replies = Vec::new();
            for send in sends {
                replies.push(send.await.unwrap());
            }
            replies
        },
        root,
    )
    .await;
    assert_eq!(replies, vec![trace; 30]);
    let handled = spans_of(trace)
        .iter()
        .filter(|s| s.name == "Blocking handle WhichTrace")
        .count();
    assert_eq!(handled, 30);
}

// ---- mailbox time and stopping -------------------------------------------------

#[derive(Message)]
#[rtype(result = "()")]
struct Work;

#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

struct Slow;

impl Actor for Slow {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Work> for Slow {
    type Result = ();
    fn handle(&mut self, _: Work, _: &mut Context<Self>) {
        // A slow actor: each message holds the actor for 5 ms.
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[traced_handler]
impl Handler<Stop> for Slow {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[actix::test]
async fn mailbox_time_grows_as_a_slow_actors_mailbox_fills() {
    installed();
    let slow = Slow.start();
    let root = spanflow::span!("burst");
    let trace = root.span_context().trace_id();
    spanflow::TracedExt::in_span(
        async {
            for _ in 0..20 {
                slow.do_send_traced(Work);
            }
            slow.send_traced(Work).await.unwrap();
        },
        root,
    )
    .await;
    let mut handled: Vec<_> = spans_of(trace)
        .into_iter()
        .filter(|s| s.name == "Slow handle Work")
        .collect();
    handled.sort_by_key(|s| s.start_time);
    assert_eq!(handled.len(), 21);
    let (first, last) = (mailbox_ns(&handled[0]), mailbox_ns(&handled[20]));
    // The last waited for twenty 5 ms handlers before it.
    assert!(last >= 90_000_000, "last waited {last} ns");
    assert!(first < last / 4, "first waited {first} ns, last {last} ns");
}

#[actix::test]
async fn a_stopped_actor_returns_the_usual_errors_and_ends_every_span() {
    installed();
    let slow = Slow.start();
    let root = spanflow::span!("to a stopped actor");
    let trace = root.span_context().trace_id();
    let (sent, tried) = spanflow::TracedExt::in_span(
        async {
            slow.send_traced(Stop).await.unwrap();
            // The actor has stopped: its mailbox is closed.
            let sent = slow.send_traced(Work).await;
            let tried = slow.try_send_traced(Work);
            (sent, tried)
        },
        root,
    )
    .await;
    assert!(matches!(sent, Err(MailboxError::Closed)), "{sent:?}");
    assert!(
        matches!(tried, Err(actix::dev::SendError::Closed(Work))),
        "the message comes back"
    );
    let failed: Vec<_> = spans_of(trace)
        .into_iter()
        .filter(|s| s.name == "Work send")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|s| matches!(s.status, Status::Error { .. }))
    );
}

// ---- actor futures ---------------------------------------------------------------

#[derive(Message)]
#[rtype(result = "(TraceId, u32)")]
struct Tick;

#[derive(Message)]
#[rtype(result = "(TraceId, u32)")]
struct AtomicTick;

struct Ticker {
    ticks: u32,
}

impl Actor for Ticker {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Tick> for Ticker {
    type Result = ResponseActFuture<Self, (TraceId, u32)>;
    fn handle(&mut self, _: Tick, _: &mut Context<Self>) -> Self::Result {
        spanflow::current::add_event("handling", Vec::new());
        // The async part runs in later polls of the actor future, after the
        // handler returned: the context must be current there too.
        Box::pin(
            actix::fut::wrap_future::<_, Self>(async {
                tokio::task::yield_now().await;
                spanflow::current::set_attribute(KeyValue::new("tick.polled", true));
                current_trace()
            })
            .map(|trace, actor, _| {
                actor.ticks += 1;
                (trace, actor.ticks)
            }),
        )
    }
}

#[traced_handler]
impl Handler<AtomicTick> for Ticker {
    type Result = spanflow_actix::AtomicResponse<Self, (TraceId, u32)>;
    fn handle(&mut self, _: AtomicTick, _: &mut Context<Self>) -> Self::Result {
        spanflow::current::add_event("handling", Vec::new());
        spanflow_actix::AtomicResponse::new(Box::pin(
            actix::fut::wrap_future::<_, Self>(async {
                tokio::task::yield_now().await;
                spanflow::current::set_attribute(KeyValue::new("tick.polled", true));
                current_trace()
            })
            .map(|trace, actor, _| {
                actor.ticks += 10;
                (trace, actor.ticks)
            }),
        ))
    }
}

#[actix::test]
async fn actor_futures_run_in_the_senders_trace_on_every_poll() {
    installed();
    let ticker = Ticker { ticks: 0 }.start();
    let root = spanflow::span!("ticks");
    let trace = root.span_context().trace_id();
    let (tick, atomic) = spanflow::TracedExt::in_span(
        async {
            (
                ticker.send_traced(Tick).await.unwrap(),
                ticker.send_traced(AtomicTick).await.unwrap(),
            )
        },
        root,
    )
    .await;
    assert_eq!(tick, (trace, 1));
    assert_eq!(atomic, (trace, 11));
    let spans = spans_of(trace);
    let handled: Vec<_> = spans
        .iter()
        .filter(|s| s.name.starts_with("Ticker handle"))
        .collect();
    assert_eq!(handled.len(), 2, "both handler spans ended");
    for span in handled {
        // What the handler and its future's polls added, on its span.
        let events: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(events, ["handling"], "{}", span.name);
        assert!(
            span.attributes
                .contains(&KeyValue::new("tick.polled", true)),
            "{span:#?}"
        );
    }
}

// ---- a full mailbox ------------------------------------------------------------

#[derive(Message)]
#[rtype(result = "()")]
struct Heavy(u32);

struct Busy;

impl Actor for Busy {
    type Context = Context<Self>;
}

#[traced_handler(name = "busy.process")]
impl Handler<Heavy> for Busy {
    type Result = ();
    fn handle(&mut self, _: Heavy, _: &mut Context<Self>) {}
}

#[actix::test]
async fn a_full_mailbox_gives_the_message_back_and_fails_the_send_span() {
    installed();
    // A one-message mailbox, set before the address exists.
    let busy = Busy::create(|ctx| {
        ctx.set_mailbox_capacity(1);
        Busy
    });
    let mut root = spanflow::span!("flood");
    let trace = root.span_context().trace_id();
    let results = root.in_scope(|| {
        (0..10)
            .map(|i| busy.try_send_traced(Heavy(i)))
            .collect::<Vec<_>>()
    });
    drop(root);
    let full: Vec<u32> = results
        .into_iter()
        .filter_map(|result| match result {
            Err(actix::dev::SendError::Full(Heavy(i))) => Some(i),
            _ => None,
        })
        .collect();
    assert!(!full.is_empty(), "a one-message mailbox filled up");
    // Let the accepted messages be handled before counting spans.
    busy.send_traced(Heavy(99)).await.unwrap();
    let spans = spans_of(trace);
    let failed = spans
        .iter()
        .filter(|s| s.name == "Heavy send" && matches!(s.status, Status::Error { .. }))
        .count();
    assert_eq!(failed, full.len(), "each refused message failed its span");
    assert!(
        spans.iter().any(|s| s.name == "busy.process"),
        "the given handler name"
    );
}
