//! Kafka: the header carriers per message, the consumer's span per
//! message, and produce → consume throughput against a real broker on
//! loopback (Tansu, started by spanflow-test-kafka), traced against
//! untraced.
//!
//! Run: `cargo bench -p spanflow-benches --bench kafka`

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage, Timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use spanflow::Span;
use spanflow::propagation::Extracted;
use spanflow_benches::{
    Discard, TRACEPARENT, bench_drained, time_batches_with_drains, traceparent_context,
};
use spanflow_kafka::{
    HeaderExtractor, HeaderInjector, TracedConsumer, TracedProducer, extract_context,
};

/// Messages per timed round: produced concurrently, then consumed.
const ROUND: usize = 500;

/// One runtime for the rdkafka clients (which start timers on the runtime
/// they are created in) and one pipeline, for every group.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
});
static PIPELINE: LazyLock<spanflow::PipelineGuard> = LazyLock::new(|| {
    spanflow::Pipeline::new()
        .with_batch_exporter(Discard)
        .install()
        .unwrap()
});

/// A record's headers as they arrive: a user header, then the trace
/// context.
fn received_headers() -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: "tenant",
            value: Some("acme"),
        })
        .insert(Header {
            key: "traceparent",
            value: Some(TRACEPARENT),
        })
}

fn headers(c: &mut Criterion) {
    let spanflow = spanflow::propagation::TraceContextPropagator::new();
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let propagators: [(&str, &dyn TextMapPropagator); 2] =
        [("spanflow", &spanflow), ("otel sdk", &sdk)];
    let cx = traceparent_context();
    let received = received_headers();

    let mut group = c.benchmark_group("kafka_headers");
    // The floor: the header list a record needs anyway, with one header.
    group.bench_function("rdkafka: new headers + insert traceparent", |b| {
        b.iter(|| {
            black_box(OwnedHeaders::new_with_capacity(4).insert(Header {
                key: "traceparent",
                value: Some(TRACEPARENT),
            }))
        })
    });
    for (name, propagator) in propagators {
        group.bench_function(format!("{name}: new headers + inject"), |b| {
            b.iter(|| {
                let mut headers = OwnedHeaders::new_with_capacity(4);
                propagator.inject_context(&cx, &mut HeaderInjector::new(&mut headers));
                black_box(headers)
            })
        });
        group.bench_function(format!("{name}: extract"), |b| {
            b.iter(|| {
                black_box(
                    propagator
                        .extract_with_context(&Context::new(), &HeaderExtractor::new(&received)),
                )
            })
        });
    }
    group.finish();
}

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", spanflow_test_kafka::bootstrap())
        .set("linger.ms", "1")
        // A fetch waits at most this long for data: librdkafka's default
        // (500 ms) would make every round wait on a timer, not on work.
        .set("fetch.wait.max.ms", "5")
        .set("group.id", "bench")
        .set("enable.auto.commit", "false");
    config
}

/// A consumer of partition 0 of `topic`, created now.
fn fresh_consumer(runtime: &tokio::runtime::Runtime, topic: &str) -> StreamConsumer {
    runtime.block_on(spanflow_test_kafka::create_topic(topic));
    let consumer: StreamConsumer = client_config().create().unwrap();
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&partitions).unwrap();
    consumer
}

/// The consumer's CONSUMER span for one received message (its context
/// extracted from the headers, named `process {topic}`, the messaging
/// attributes, the partition's lag from librdkafka's cache), against the
/// least it could be: the same extract and a plain span under it.
fn consumer_span(c: &mut Criterion) {
    let runtime = &*RUNTIME;
    let _runtime = runtime.enter();
    let pipeline = &*PIPELINE;
    let consumer = TracedConsumer::new(fresh_consumer(runtime, "bench-spans"));
    let message = OwnedMessage::new(
        Some(b"{\"sku\":\"A-17\"}".to_vec()),
        Some(b"order-17".to_vec()),
        "bench-spans".to_owned(),
        Timestamp::CreateTime(1_700_000_000_000),
        0,
        42,
        Some(received_headers()),
    );

    let mut group = c.benchmark_group("kafka_consumer_span");
    bench_drained(
        &mut group,
        "extract + plain span (anchor)",
        1,
        || {
            let parent = extract_context(&message);
            drop(black_box(Span::with_parent(
                spanflow::callsite!("process"),
                parent,
            )));
        },
        || pipeline.flush().unwrap(),
    );
    let headers = message.headers().expect("the message carries headers");
    bench_drained(
        &mut group,
        "Extracted + plain span (no Context for the parent)",
        1,
        || {
            let parent = Extracted::from_carrier(&Context::new(), &HeaderExtractor::new(headers));
            drop(black_box(Span::with_parent(
                spanflow::callsite!("process"),
                parent,
            )));
        },
        || pipeline.flush().unwrap(),
    );
    bench_drained(
        &mut group,
        "process_span",
        1,
        || drop(black_box(consumer.process_span(&message))),
        || pipeline.flush().unwrap(),
    );
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let runtime = &*RUNTIME;
    let _runtime = runtime.enter();
    let pipeline = &*PIPELINE;
    let timeout = Duration::from_secs(30);

    let mut group = c.benchmark_group("kafka_produce_consume");
    group.throughput(Throughput::Elements(ROUND as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    let producer: FutureProducer = client_config().create().unwrap();
    let consumer = fresh_consumer(runtime, "bench-untraced");
    group.bench_function(format!("untraced: {ROUND} messages"), |b| {
        b.iter_custom(|rounds| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    let sends = (0..ROUND).map(|_| {
                        producer.send(
                            FutureRecord::<str, str>::to("bench-untraced").payload("x"),
                            timeout,
                        )
                    });
                    for sent in futures::future::join_all(sends).await {
                        sent.unwrap();
                    }
                    for _ in 0..ROUND {
                        black_box(consumer.recv().await.unwrap());
                    }
                }
                start.elapsed()
            })
        })
    });

    let producer = TracedProducer::from_config(&client_config()).unwrap();
    let consumer = TracedConsumer::new(fresh_consumer(runtime, "bench-traced"));
    group.bench_function(format!("traced: {ROUND} messages (2 spans each)"), |b| {
        b.iter_custom(|rounds| {
            time_batches_with_drains(
                rounds,
                1,
                |_| {
                    runtime.block_on(async {
                        let start = Instant::now();
                        let sends = (0..ROUND).map(|_| {
                            producer.send(
                                FutureRecord::<str, str>::to("bench-traced").payload("x"),
                                timeout,
                            )
                        });
                        for sent in futures::future::join_all(sends).await {
                            sent.unwrap();
                        }
                        for _ in 0..ROUND {
                            let message = consumer.recv().await.unwrap();
                            consumer.process(&message, async {}).await;
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
    targets = headers, consumer_span, throughput
}
criterion_main!(benches);
