//! Total CPU per exported span: the application thread, spanflow's
//! collector, the SDK's batch processor and the OTLP client, exporting to a
//! real OTLP receiver on 127.0.0.1 (whose own threads are not counted;
//! every other thread of the process is, the HTTP client's included).
//!
//! Run: `cargo run --release -p spanflow-benches --example export_cost -- grpc 500000`
//! (or `http/protobuf`, `http/json`; or `sdk-http/protobuf` / `sdk-http/json`,
//! the anchors: the same spans
//! through the SDK's `BatchSpanProcessor` and opentelemetry-otlp's exporter;
//! or `batch-http/protobuf` / `batch-http/json`: opentelemetry-otlp's
//! exporter given to `with_batch_exporter`, batched by spanflow). A third
//! argument `logged` adds a `tracing` line to every other span, through
//! `SpanEventLayer`.
//!
//! CPU time comes from `/proc/self/task/*/stat` (clock ticks of 10 ms), so
//! the run is long enough for the ticks not to matter. The pipeline is
//! flushed every 1,000 spans, so every span is exported and none dropped.

use std::collections::HashMap;
use std::time::Instant;

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::BatchSpanProcessor;

use spanflow::otlp::{OtlpProtocol, OtlpTarget};
use spanflow_otlp_receiver::{OtlpReceiver, RECEIVER_THREAD};

/// Which processor and exporter the spans go through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Through {
    /// spanflow's OTLP processor.
    Spanflow,
    /// The SDK's `BatchSpanProcessor` and opentelemetry-otlp's exporter.
    SdkBatch,
    /// opentelemetry-otlp's exporter, batched by `with_batch_exporter`.
    BatchExporter,
}

#[spanflow::trace(kind = server, fields(order.id = 7))]
fn handle() {
    step();
}

#[spanflow::trace]
fn step() {
    // Reaches the span only with `logged` (a subscriber with the layer).
    tracing::info!(attempt = 1, "stock reserved");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (protocol, through) = match args.next().as_deref() {
        Some("http/protobuf") => (OtlpProtocol::HttpProtobuf, Through::Spanflow),
        Some("http/json") => (OtlpProtocol::HttpJson, Through::Spanflow),
        Some("sdk-http/protobuf") => (OtlpProtocol::HttpProtobuf, Through::SdkBatch),
        Some("sdk-http/json") => (OtlpProtocol::HttpJson, Through::SdkBatch),
        Some("batch-http/protobuf") => (OtlpProtocol::HttpProtobuf, Through::BatchExporter),
        Some("batch-http/json") => (OtlpProtocol::HttpJson, Through::BatchExporter),
        _ => (OtlpProtocol::Grpc, Through::Spanflow),
    };
    let spans: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(500_000);
    let logged = args.next().as_deref() == Some("logged");
    if logged {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(spanflow::logs::SpanEventLayer::new()),
        )?;
    }
    let receiver = OtlpReceiver::start()?;
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let target = OtlpTarget::new(&endpoint, protocol)?;
    let pipeline = if through != Through::Spanflow {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(match protocol {
                OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
                _ => opentelemetry_otlp::Protocol::HttpBinary,
            })
            .with_endpoint(target.url)
            .build()?;
        if through == Through::SdkBatch {
            spanflow::pipeline!()
                .with_span_processor(BatchSpanProcessor::builder(exporter).build())
                .install()?
        } else {
            spanflow::pipeline!()
                .with_batch_exporter(exporter)
                .install()?
        }
    } else {
        spanflow::pipeline!().with_otlp(target).install()?
    };

    // Warm up connections, rings and the batch processor.
    for _ in 0..10 {
        for _ in 0..500 {
            handle();
        }
        pipeline.flush()?;
    }
    let received_before = receiver.spans().len();

    let before = thread_cpu();
    let wall = Instant::now();
    // Two spans per call; a flush every 1,000 spans.
    for _ in 0..spans / 1_000 {
        for _ in 0..500 {
            handle();
        }
        pipeline.flush()?;
    }
    pipeline.flush()?;
    let wall = wall.elapsed();
    let after = thread_cpu();

    let exported = receiver.spans().len() - received_before;
    let mut total_ticks = 0;
    println!(
        "protocol {protocol:?}{}{}, {exported} spans exported in {wall:.2?}, {} dropped",
        if logged {
            ", a log line every other span"
        } else {
            ""
        },
        match through {
            Through::Spanflow => "",
            Through::SdkBatch => " through the SDK's batch processor and opentelemetry-otlp",
            Through::BatchExporter => " through with_batch_exporter(opentelemetry-otlp)",
        },
        pipeline.dropped_spans()
    );
    let mut names: Vec<&String> = after.keys().collect();
    names.sort();
    for name in names {
        if name == RECEIVER_THREAD {
            continue;
        }
        let ticks = after[name] - before.get(name).copied().unwrap_or(0);
        total_ticks += ticks;
        println!("  {name:16} {:7.3} s", ticks as f64 / 100.0);
    }
    let per_span = total_ticks as f64 * 10_000_000.0 / exported.max(1) as f64;
    println!("total CPU per exported span: {per_span:.0} ns");
    Ok(())
}

/// utime + stime in clock ticks, summed by thread name.
fn thread_cpu() -> HashMap<String, u64> {
    let mut cpu = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return cpu;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "tid (comm) state ...": comm may hold spaces, so split at the parens.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = fields
            .get(11)
            .and_then(|u| u.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
        *cpu.entry(name).or_default() += ticks;
    }
    cpu
}
