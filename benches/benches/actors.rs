//! A `send` round trip of a small actix message, untraced against
//! `send_traced` (a PRODUCER span for the send and a CONSUMER span for the
//! handler, sampled, exported through a batch processor that discards).
//!
//! Run: `cargo bench -p spanflow-benches --bench actors`

use std::time::Instant;

use actix::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use spanflow_actix::{TracedSend, traced_handler};
use spanflow_benches::{Discard, SPANS_PER_DRAIN, time_batches_with_drains};

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Ping> for Echo {
    type Result = u64;
    fn handle(&mut self, ping: Ping, _: &mut Context<Self>) -> u64 {
        ping.0
    }
}

fn send_round_trip(c: &mut Criterion) {
    let pipeline = spanflow::Pipeline::new()
        .with_batch_exporter(Discard)
        .install()
        .expect("one pipeline per process");
    let system = System::new();
    let echo = system.block_on(async { Echo.start() });

    let mut group = c.benchmark_group("actix_send_round_trip");
    group.bench_function("send (untraced)", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    echo.send(Ping(i)).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("send_traced (2 spans)", |b| {
        b.iter_custom(|iters| {
            time_batches_with_drains(
                iters,
                SPANS_PER_DRAIN / 2,
                |calls| {
                    system.block_on(async {
                        let start = Instant::now();
                        for i in 0..calls {
                            echo.send_traced(Ping(i)).await.unwrap();
                        }
                        start.elapsed()
                    })
                },
                || pipeline.flush().unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = spanflow_benches::config();
    targets = send_round_trip
}
criterion_main!(benches);
