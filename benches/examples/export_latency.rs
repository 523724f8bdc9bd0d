//! Spans a second that spanflow's OTLP export delivers to a receiver a
//! round trip away, by `OTEL_BSP_MAX_CONCURRENT_EXPORTS`: with one sender
//! each request waits for the answer to the one before.
//!
//! Run: `cargo run --release -p spanflow-benches --example export_latency -- SENDERS [DELAY_MS] [SPANS] [grpc]`
//! (OTLP/HTTP with protobuf bodies, or OTLP/gRPC; 512 spans a request; the receiver on
//! 127.0.0.1 waits `DELAY_MS`, 20 by default, before it handles each
//! request; 200,000 spans by default). The queue holds every span, so
//! none is dropped there; the time runs until a flush returns with all of
//! them answered.

use std::time::{Duration, Instant};

use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::{Behaviour, OtlpReceiver};

#[spanflow::trace]
fn work() {}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let senders: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let delay_ms: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let spans: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let protocol = match args.next().as_deref() {
        Some("grpc") => OtlpProtocol::Grpc,
        _ => OtlpProtocol::HttpProtobuf,
    };
    // SAFETY: no other thread runs yet; the receiver starts below.
    unsafe {
        std::env::set_var("OTEL_BSP_MAX_CONCURRENT_EXPORTS", senders.to_string());
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", spans.to_string());
    }
    let receiver = OtlpReceiver::start()?;
    receiver.set_behaviour(Behaviour::Count);
    receiver.set_answer_delay(Duration::from_millis(delay_ms));
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let target = OtlpTarget::new(&endpoint, protocol)?;
    let pipeline = spanflow::pipeline!().with_otlp(target).install()?;

    let started = Instant::now();
    for made in 1..=spans {
        work();
        // Keep each thread's ring from overflowing: the collector only
        // encodes, so it catches up within microseconds.
        if made % 512 == 0 {
            while made > pipeline.collected_spans() + pipeline.dropped_spans() + 512 {
                std::thread::yield_now();
            }
        }
    }
    pipeline.flush_within(Duration::from_secs(600))?;
    let elapsed = started.elapsed();

    let stats = pipeline.export_stats();
    println!(
        "{protocol:?}, {senders} sender(s), answers after {delay_ms} ms: {} of {spans} spans exported in {elapsed:.2?}, \
         {:.0} spans/s ({} failed, {} dropped at the rings, {} received)",
        stats.exported,
        stats.exported as f64 / elapsed.as_secs_f64(),
        stats.failed,
        pipeline.dropped_spans(),
        receiver.counted_spans(),
    );
    pipeline.shutdown()?;
    Ok(())
}
