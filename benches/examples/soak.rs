//! Soak: millions of spans through the whole pipeline — tail sampler,
//! batch processor, OTLP/gRPC to the real receiver on loopback (counting,
//! not keeping) — printing resident memory, drops and decisions as it
//! goes, so that flat memory can be seen, not assumed.
//!
//! Run: `cargo run --release -p spanflow-benches --example soak -- SPANS [SPANS_PER_SECOND [BURST]]`
//! (no rate: a tight loop, which overloads on purpose: the rings drop and
//! count what the pipeline cannot take). Spans come in bursts of BURST
//! (default 100) made as fast as possible, then a pause that keeps the rate.

use std::time::{Duration, Instant};

use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow::tail::{Policy, TailSampler};
use spanflow::trace;
use spanflow_otlp_receiver::{Behaviour, OtlpReceiver};

/// A request of 10 spans; one in a hundred fails.
#[trace(err)]
fn request(index: u64) -> Result<(), String> {
    for _ in 0..9 {
        step();
    }
    if index.is_multiple_of(100) {
        Err("declined".into())
    } else {
        Ok(())
    }
}

#[trace]
fn step() {}

fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4 / 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spans: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    let rate: Option<u64> = std::env::args().nth(2).and_then(|n| n.parse().ok());
    let burst_requests: u64 = std::env::args()
        .nth(3)
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(10, |spans| (spans / 10).max(1));
    let receiver = OtlpReceiver::start()?;
    receiver.set_behaviour(Behaviour::Count);
    let pipeline = spanflow::Pipeline::new()
        .with_otlp(OtlpTarget::new(
            &receiver.grpc_endpoint(),
            OtlpProtocol::Grpc,
        )?)
        .with_tail_sampling(TailSampler::builder(Policy::any_of([
            Policy::errors(),
            Policy::latency_over(Duration::from_secs(1)),
            Policy::probability(0.1),
        ])))
        .install()?;

    let started = Instant::now();
    let requests = spans / 10;
    println!(
        "spans made | resident MiB | dropped (rings) | traces kept | dropped by policy | spans at receiver"
    );
    for index in 0..requests {
        let _ = request(index);
        // Paced in bursts: far above the rate within one, which the rings
        // absorb up to their size.
        if let Some(rate) = rate
            && (index + 1) % burst_requests == 0
        {
            let due = started + Duration::from_secs_f64((index + 1) as f64 * 10.0 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        if (index + 1) % (requests / 10).max(1) == 0 {
            let tail = pipeline.tail_stats().unwrap_or_default();
            println!(
                "{:>10} | {:>12} | {:>15} | {:>11} | {:>17} | {:>17}",
                (index + 1) * 10,
                resident_mib(),
                pipeline.dropped_spans(),
                tail.traces_kept,
                tail.traces_dropped,
                receiver.counted_spans()
            );
        }
    }
    let made = started.elapsed();
    pipeline.flush()?;
    let tail = pipeline.tail_stats().unwrap_or_default();
    println!(
        "{spans} spans in {made:.1?} ({:.0} ns per span on the application thread); \
         after flush: {} spans at the receiver, {} kept by the tail sampler, {} late; {:?}",
        made.as_nanos() as f64 / spans as f64,
        receiver.counted_spans(),
        tail.spans_kept,
        tail.late_spans_kept,
        pipeline.export_stats()
    );
    pipeline.shutdown()?;
    Ok(())
}
