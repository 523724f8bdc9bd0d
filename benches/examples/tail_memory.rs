//! Bytes per span buffered in the tail sampler: 1,000 traces of 50 spans
//! whose roots have not ended, counted by a counting global allocator.
//!
//! Run: `cargo run --release -p spanflow-benches --example tail_memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use spanflow::tail::{Policy, TailSampler};
use spanflow_benches::{DiscardProcessor, ended_traces};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards every call to the system allocator unchanged, only
// counting bytes; the layout contract is the caller's, as for `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same layout as given to us.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TRACES: u64 = 1_000;
const SPANS_PER_TRACE: u64 = 50;

fn live() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn main() {
    let sampler = TailSampler::builder(Policy::errors()).build(DiscardProcessor);
    let mut next_trace = 1;
    // Roots left out: every trace stays buffered.
    let spans: Vec<SpanData> = ended_traces(&mut next_trace, TRACES, SPANS_PER_TRACE)
        .into_iter()
        .filter(|span| span.parent_span_id != SpanId::INVALID)
        .collect();
    let count = spans.len() as i64;

    let before = live();
    let attribute_heap: i64 = spans
        .iter()
        .map(|span| (span.attributes.capacity() * size_of::<opentelemetry::KeyValue>()) as i64)
        .sum();
    let span_bytes = count * size_of::<SpanData>() as i64 + attribute_heap;
    for span in spans {
        sampler.on_end(span);
    }
    // The input vector's buffer is freed; the spans moved into the
    // sampler, their attributes' heap with them. Live bytes now, less
    // before, plus that buffer, is what the sampler holds beyond the
    // attributes' heap.
    let vector = count * size_of::<SpanData>() as i64;
    let added = live() - before + vector;
    let stats = sampler.stats().snapshot();
    assert_eq!(stats.buffered_spans, count as u64);
    println!(
        "{count} spans in {} traces buffered\n\
         size_of::<SpanData>() = {} bytes; its attributes' heap (3 attributes) = {} bytes\n\
         the span itself: {} bytes; the sampler's own bookkeeping: {} bytes; total per buffered span: {} bytes",
        stats.buffered_traces,
        size_of::<SpanData>(),
        attribute_heap / count,
        span_bytes / count,
        (added + attribute_heap - span_bytes) / count,
        (added + attribute_heap) / count,
    );
    sampler.shutdown().unwrap();
}
