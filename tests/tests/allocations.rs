//! Allocation and memory bounds of the recording path, measured with a
//! counting global allocator (this binary's only test, so nothing else
//! allocates meanwhile).

mod counting;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use counting::{LIVE_BYTES, allocations_of};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use spanflow::trace;
use tracing_subscriber::layer::SubscriberExt as _;

/// An exporter that can be made to stall, like a collector that is down.
#[derive(Debug)]
struct Stallable;

static STALLED: AtomicBool = AtomicBool::new(false);

impl SpanExporter for Stallable {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        while STALLED.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(batch);
        Ok(())
    }
}

#[trace]
fn empty() {}

/// A span its work adds an event to, as a log line through a bridge does.
#[trace]
fn logged() {
    spanflow::current::add_event("step", Vec::new());
}

/// A span with a `tracing` line carrying fields: a number, a string and a
/// value formatted with `Debug`.
#[trace]
fn traced_line(order: i64) {
    tracing::info!(order, currency = "EUR", card = ?Some(4242), "charged");
}

/// A span with a `log` line carrying key-values: a number and a string.
#[trace]
fn logged_with_log(order: i64) {
    log::info!(order, currency = "EUR"; "charged");
}

/// The logger `LogBridge` hands lines to: prints nothing.
struct Silent;

impl log::Log for Silent {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, _: &log::Record<'_>) {}

    fn flush(&self) {}
}

const QUEUE: usize = 1024;

#[test]
fn one_allocation_per_span_and_bounded_memory_under_overload() {
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(Stallable)
        .with_queue_capacity(QUEUE)
        .with_collect_interval(Duration::from_secs(60))
        .install()
        .expect("the only pipeline of this binary");

    // Warm the thread's rings and spare records.
    for _ in 0..QUEUE {
        empty();
    }
    pipeline.flush().unwrap();
    for _ in 0..QUEUE / 2 {
        empty();
    }
    pipeline.flush().unwrap();

    // 1. Allocations on this thread per sampled span, amortised: the only
    //    one left is the Arc inside opentelemetry::Context.
    let spans = QUEUE as u64 / 2;
    let made = allocations_of(|| (0..spans).for_each(|_| empty()));
    eprintln!("{made} allocations for {spans} spans");
    pipeline.flush().unwrap();
    assert!(
        made <= spans,
        "{made} allocations for {spans} spans: more than one per span"
    );

    //    In a trace with a `tracestate` (every trace a ratio sampler
    //    keeps carries `ot=th`), the `Context` needs its own copy of the
    //    state: OpenTelemetry's `TraceState` is a list of owned strings, so
    //    a one-entry state is three allocations more. The record shares one
    //    copy per thread instead of making a fourth, fifth, ... (eight per
    //    span before).
    {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
        };
        let state: TraceState = "ot=th:8".parse().unwrap();
        let parent = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(u128::MAX),
            SpanId::from(7_u64),
            TraceFlags::SAMPLED,
            false,
            state,
        ));
        let _parent = parent.attach();
        // One span shares the state's first copy; the flush gives its box
        // back, so the counted spans find as many spare boxes as before.
        empty();
        pipeline.flush().unwrap();
        let made = allocations_of(|| (0..spans).for_each(|_| empty()));
        pipeline.flush().unwrap();
        assert!(
            made <= 4 * spans,
            "{made} allocations for {spans} spans under a tracestate: more than the \
             Context and its copy of the state"
        );
    }

    //    A span named at run time, as the adapters' spans are, needs no
    //    more (its name is kept in the record, not in an extra box).
    let made = allocations_of(|| {
        for _ in 0..spans {
            let mut span = spanflow::Span::lazily_named(spanflow::callsite!("request"), || {
                ("GET".into(), Vec::new())
            });
            span.end();
        }
    });
    pipeline.flush().unwrap();
    assert!(
        made <= spans,
        "{made} allocations for {spans} named spans: more than one per span"
    );

    //    Nor does a span its work adds an event to (a log line), once the
    //    boxes in circulation have held one: a recycled record keeps the
    //    room its event list took (three allocations a span before).
    for _ in 0..4 {
        (0..spans).for_each(|_| logged());
        pipeline.flush().unwrap();
    }
    let made = allocations_of(|| (0..spans).for_each(|_| logged()));
    pipeline.flush().unwrap();
    assert!(
        made <= spans,
        "{made} allocations for {spans} spans with an event: more than one per span"
    );

    //    Nor does a `tracing` line with fields, through `SpanEventLayer`:
    //    its message and fields (a string one's text too) are written into
    //    buffers the thread and the record keep (five allocations a span
    //    with string fields as OpenTelemetry values: the currency's copy,
    //    the card's text, grown once and cut to size by `Value`).
    let events_only = tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new());
    tracing::subscriber::with_default(events_only, || {
        for _ in 0..4 {
            (0..spans).for_each(|i| traced_line(i as i64));
            pipeline.flush().unwrap();
        }
        let made = allocations_of(|| (0..spans).for_each(|i| traced_line(i as i64)));
        pipeline.flush().unwrap();
        assert!(
            made <= spans,
            "{made} allocations for {spans} spans with a tracing line: more than one per span"
        );
    });

    //    Nor does a `log` line with key-values, through `LogBridge`: its
    //    keys are kept once (one copy per key and line before), its values
    //    written into the same buffers.
    spanflow::logs::LogBridge::new(Silent)
        .install()
        .expect("the only logger of this binary");
    for _ in 0..4 {
        (0..spans).for_each(|i| logged_with_log(i as i64));
        pipeline.flush().unwrap();
    }
    let made = allocations_of(|| (0..spans).for_each(|i| logged_with_log(i as i64)));
    pipeline.flush().unwrap();
    assert!(
        made <= spans,
        "{made} allocations for {spans} spans with a log line: more than one per span"
    );

    // 2. Overload: the exporter stalls, the application keeps making spans.
    //    Memory stays bounded by the queue configuration and every span is
    //    either collected or counted as dropped.
    STALLED.store(true, Ordering::Relaxed);
    let collected_before = pipeline.collected_spans();
    let dropped_before = pipeline.dropped_spans();
    let live_before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut peak = 0;
    let total = 200_000u64;
    let made = allocations_of(|| {
        for i in 0..total {
            empty();
            if i % 1_000 == 0 {
                peak = peak.max(LIVE_BYTES.load(Ordering::Relaxed) - live_before);
            }
        }
    });
    let dropped = pipeline.dropped_spans() - dropped_before;
    eprintln!(
        "stalled: {dropped} of {total} dropped, {made} allocations, peak growth {peak} bytes"
    );
    assert!(
        dropped > total / 2,
        "only {dropped} of {total} dropped while stalled"
    );
    // A dropped span reuses the box of the one dropped before it: still one
    // allocation per span (the `Context`'s), besides the boxes that filled
    // the queue.
    assert!(
        made <= total + QUEUE as u64,
        "{made} allocations for {total} spans while stalled: dropped spans allocate"
    );
    // Rings of boxed records (two per thread) plus the one span stuck in the
    // stalled exporter: a few hundred bytes per queue slot, whatever `total`.
    let bound = (QUEUE as i64) * 2 * 512;
    assert!(
        peak < bound,
        "live memory grew by {peak} bytes, bound {bound}"
    );

    STALLED.store(false, Ordering::Relaxed);
    pipeline.flush().unwrap();
    let collected = pipeline.collected_spans() - collected_before;
    assert_eq!(
        collected + dropped,
        total,
        "a span was neither exported nor counted"
    );

    // 3. After shutdown spans are dropped too, as cheaply, once the spare
    //    boxes the collector returned (at most one queue's worth) are used.
    pipeline.shutdown().unwrap();
    let after_shutdown = 5 * QUEUE as u64;
    let made = allocations_of(|| (0..after_shutdown).for_each(|_| empty()));
    assert!(
        made <= after_shutdown + 1,
        "{made} allocations for {after_shutdown} spans after shutdown"
    );
    //    A thread whose first span comes after shutdown gets no rings (two
    //    of `QUEUE` slots, 16 KB, which the stopped collector would keep).
    let live_before = LIVE_BYTES.load(Ordering::Relaxed);
    std::thread::spawn(|| (0..100).for_each(|_| empty()))
        .join()
        .unwrap();
    let kept = LIVE_BYTES.load(Ordering::Relaxed) - live_before;
    assert!(
        kept < 4096,
        "a thread that made spans after shutdown left {kept} bytes behind"
    );
}
