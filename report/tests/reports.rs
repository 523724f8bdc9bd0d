//! Each report on generated traces whose answers are known.

mod support;

use opentelemetry::trace::TraceId;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use spanflow::export::TreeStyle;
use spanflow_report::read::read_all;
use spanflow_report::{
    Backpressure, Compare, DurationHistogram, Lag, Latency, Selection, SpanReport, Timeline,
    TraceChoice, trees,
};
use support::*;

fn run(report: impl SpanReport, path: &std::path::Path) -> serde_json::Value {
    let (spans, read) = read_all(&[path.to_owned()]).unwrap();
    assert_eq!(read.skipped, 0);
    let mut report = report;
    for span in &spans {
        report.add(span);
    }
    report.finish().json
}

/// Service a: 100 requests of 1..=100 ms, 5 failed; service b: 10 of 200 ms.
fn two_services() -> std::path::PathBuf {
    let a: Vec<Gen> = (1..=100u64)
        .map(|i| {
            let span = Gen::root(u128::from(i), "GET /a", T0 + i * MS, i * MS);
            if i % 20 == 0 { span.failed() } else { span }
        })
        .collect();
    let b: Vec<Gen> = (1..=10u64)
        .map(|i| Gen::root(1_000 + u128::from(i), "GET /b", T0 + i * MS, 200 * MS))
        .collect();
    file(&[line("a", &a), line("b", &b)])
}

#[test]
fn latency_by_service_is_exact_on_small_inputs() {
    let json = run(
        Latency::new("service.name", Selection::default()),
        &two_services(),
    );
    let groups = json["groups"].as_array().unwrap();
    let a = groups.iter().find(|g| g["group"] == "a").unwrap();
    assert_eq!(a["count"], 100);
    assert_eq!(a["p50_ns"], 50 * MS);
    assert_eq!(a["p95_ns"], 95 * MS);
    assert_eq!(a["p99_ns"], 99 * MS);
    assert_eq!(a["max_ns"], 100 * MS);
    assert_eq!(a["errors"], 5);
    let b = groups.iter().find(|g| g["group"] == "b").unwrap();
    assert_eq!(
        (b["count"].as_u64(), b["p99_ns"].as_u64()),
        (Some(10), Some(200 * MS))
    );
    assert_eq!(json["exact"], true);
}

/// 20 checkouts of service `payments`, each calling `stripe` (10, 20 ...
/// 200 ms) and `ledger` (5 ms) through CLIENT spans under an INTERNAL one.
fn calls_to_two_peers() -> std::path::PathBuf {
    let mut spans = Vec::new();
    for i in 1..=20u64 {
        let trace = u128::from(i);
        let start = T0 + i * 1_000 * MS;
        spans.push(Gen::root(trace, "POST /checkout", start, 300 * MS));
        let mut charge = Gen::root(trace, "charge", start, 250 * MS);
        (charge.id, charge.parent, charge.kind) = (2, 1, SpanKind::Internal);
        spans.push(charge);
        for (id, peer, took) in [(3, "stripe", i * 10 * MS), (4, "ledger", 5 * MS)] {
            let mut call = Gen::root(trace, "POST", start, took).with("peer.service", text(peer));
            (call.id, call.parent, call.kind) = (id, 2, SpanKind::Client);
            spans.push(call);
        }
    }
    file(&[line("payments", &spans)])
}

#[test]
fn latency_of_client_spans_by_peer_service() {
    let path = calls_to_two_peers();
    let by_peer = Selection {
        kind: Some(opentelemetry::trace::SpanKind::Client),
        ..Selection::default()
    };
    let json = run(Latency::new("peer.service", by_peer), &path);
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    let group = |name: &str| groups.iter().find(|g| g["group"] == name).unwrap();
    assert_eq!(group("stripe")["count"], 20);
    assert_eq!(group("stripe")["p50_ns"], 100 * MS);
    assert_eq!(group("stripe")["max_ns"], 200 * MS);
    assert_eq!(group("ledger")["count"], 20);
    assert_eq!(group("ledger")["p99_ns"], 5 * MS);

    // Without a kind, only where requests enter: no call has a peer there.
    let json = run(Latency::new("peer.service", Selection::default()), &path);
    assert_eq!(json["groups"][0]["group"], "(none)");
    assert_eq!(json["groups"][0]["count"], 20);

    // The command line's `--kind`.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spanflow"))
        .args([
            "latency",
            "--json",
            "--by",
            "peer.service",
            "--kind",
            "client",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let counts: Vec<(&str, u64)> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(counts.contains(&("stripe", 20)) && counts.contains(&("ledger", 20)));
    let internal = std::process::Command::new(env!("CARGO_BIN_EXE_spanflow"))
        .args(["latency", "--json", "--kind", "internal"])
        .arg(&path)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&internal.stdout).unwrap();
    assert_eq!(json["groups"][0]["count"], 20, "the charge spans");
}

#[test]
fn histogram_counts_each_bucket() {
    let json = run(
        DurationHistogram::new("GET /a", vec![10 * MS, 50 * MS]),
        &two_services(),
    );
    let counts: Vec<u64> = json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [9, 40, 51]);
    assert_eq!(json["total"], 100);
}

#[test]
fn compare_finds_a_slower_canary_and_not_an_equal_one() {
    let spans = |variant: &'static str, shift: u64, offset: u128| -> Vec<Gen> {
        (0..300u64)
            .map(|i| {
                Gen::root(
                    offset + u128::from(i),
                    "GET /",
                    T0,
                    (10 + i % 50 + shift) * MS,
                )
                .with("spanflow.deployment.variant", text(variant))
            })
            .collect()
    };
    let slower = file(&[
        line("s", &spans("baseline", 0, 0)),
        line("s", &spans("canary", 15, 10_000)),
    ]);
    let json = run(
        Compare::new(
            "spanflow.deployment.variant",
            Selection::default(),
            None,
            None,
        ),
        &slower,
    );
    assert_eq!(json["test"]["baseline"], "baseline");
    assert_eq!(json["test"]["candidate"], "canary");
    assert_eq!(json["test"]["p50_difference_ns"], 15 * MS);
    assert!(json["test"]["latency_p_value"].as_f64().unwrap() < 1e-6);

    let equal = file(&[
        line("s", &spans("baseline", 0, 0)),
        line("s", &spans("canary", 0, 10_000)),
    ]);
    let json = run(
        Compare::new(
            "spanflow.deployment.variant",
            Selection::default(),
            None,
            None,
        ),
        &equal,
    );
    assert!(json["test"]["latency_p_value"].as_f64().unwrap() > 0.9);
    assert_eq!(json["test"]["error_rate_p_value"], 1.0);
}

#[test]
fn lag_buckets_and_correlation() {
    // Latency = 1 ms + 0.1 ms per message of lag: perfectly correlated.
    let consumers: Vec<Gen> = (0..60u64)
        .map(|i| {
            let mut span = Gen::root(
                u128::from(i),
                "process orders",
                T0 + i * 1_000 * MS,
                MS + i * MS / 10,
            )
            .with("spanflow.kafka.consumer_lag", int(i as i64));
            span.kind = SpanKind::Consumer;
            span
        })
        .collect();
    let json = run(Lag::new(10_000 * MS), &file(&[line("c", &consumers)]));
    assert!((json["pearson_r"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let buckets = json["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 6);
    assert_eq!(buckets[0]["messages"], 10);
    assert_eq!(buckets[0]["mean_lag"], 4.5);
    assert_eq!(buckets[5]["max_lag"], 59.0);
}

#[test]
fn backpressure_splits_queued_waiting_working() {
    let spans: Vec<Gen> = (0..4u64)
        .map(|i| {
            Gen::root(u128::from(i), "handle", T0, 10 * MS)
                .with("spanflow.queued_ns", int(2_000_000))
                .with("spanflow.idle_ns", int(7_000_000))
                .with("spanflow.busy_ns", int(3_000_000))
        })
        .collect();
    let json = run(
        Backpressure::new(Selection::default()),
        &file(&[line("s", &spans)]),
    );
    let handle = &json["spans"][0];
    assert_eq!(handle["count"], 4);
    assert_eq!(handle["mean_queued_ns"], 2_000_000.0);
    assert_eq!(handle["mean_waiting_ns"], 7_000_000.0);
    assert_eq!(handle["mean_working_ns"], 3_000_000.0);
}

#[test]
fn timeline_per_pod_per_minute() {
    let spans: Vec<Gen> = (0..120u64)
        .map(|i| {
            let pod = if i % 2 == 0 { "old" } else { "new" };
            let span = Gen::root(u128::from(i), "GET /", T0 + i * 1_000 * MS, MS)
                .with("k8s.pod.name", text(pod));
            if pod == "new" && i >= 60 {
                span.failed()
            } else {
                span
            }
        })
        .collect();
    let json = run(
        Timeline::new("k8s.pod.name", 60_000 * MS, Selection::default()),
        &file(&[line("s", &spans)]),
    );
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    let errors = |minute: u64, pod: &str| {
        cells
            .iter()
            .find(|c| c["group"] == pod && c["bucket_start_unix_ns"] == T0 + minute * 60_000 * MS)
            .map(|c| (c["count"].as_u64().unwrap(), c["errors"].as_u64().unwrap()))
            .unwrap()
    };
    assert_eq!(errors(0, "new"), (30, 0));
    assert_eq!(
        errors(1, "new"),
        (30, 30),
        "the new pod failed in the second minute"
    );
    assert_eq!(errors(1, "old"), (30, 0));
}

#[test]
fn trees_by_id_slowest_and_errors() {
    let mut spans = Vec::new();
    for trace in 1..=3u128 {
        let mut root = Gen::root(trace, "request", T0, trace as u64 * 10 * MS);
        if trace == 2 {
            root = root.failed();
        }
        spans.push(root);
        spans.push(
            Gen {
                id: 2,
                parent: 1,
                name: "child",
                ..Gen::root(trace, "child", T0, MS)
            }
            .logged(MS / 2, "WARN", "cache cold"),
        );
    }
    let path = file(&[line("s", &spans)]);
    let paths = [path];
    let draw = |choice| trees(&paths, &choice, TreeStyle::PLAIN).unwrap().0;
    let slowest = draw(TraceChoice::Slowest);
    assert_eq!(slowest.len(), 1);
    assert!(
        slowest[0].contains("trace_id=00000000000000000000000000000003"),
        "{}",
        slowest[0]
    );
    assert!(slowest[0].contains("└── * child"), "{}", slowest[0]);
    let errored = draw(TraceChoice::Errors(5));
    assert_eq!(errored.len(), 1);
    assert!(errored[0].contains("00000000000000000000000000000002"));
    let by_id = draw(TraceChoice::Id(TraceId::from(1u128)));
    assert!(by_id[0].contains("spans=2"));
    // The file's log events hang under their span, as the terminal draws them.
    assert!(
        by_id[0].contains("    └── [WARN] cache cold (0.5ms)\n"),
        "{}",
        by_id[0]
    );
}

#[test]
fn backpressure_of_one_trace_and_spans_from_the_embedded_store() {
    use opentelemetry_sdk::trace::SpanData;

    let spans: Vec<Gen> = (1..=3u128)
        .map(|trace| Gen::root(trace, "handle", T0, MS).with("spanflow.busy_ns", int(500_000)))
        .collect();
    let (rows, _) = read_all(&[file(&[line("s", &spans)])]).unwrap();
    let one_trace = Selection {
        trace: Some(TraceId::from(2u128)),
        ..Selection::default()
    };
    let mut report = Backpressure::new(one_trace);
    for row in &rows {
        report.add(row);
    }
    assert_eq!(report.finish().json["spans"][0]["count"], 1);

    // Within one trace, the time in child spans: 3 ms + 4 ms under a root.
    let family = vec![
        Gen::root(9, "handle", T0, 10 * MS),
        Gen {
            id: 2,
            parent: 1,
            ..Gen::root(9, "query", T0, 3 * MS)
        },
        Gen {
            id: 3,
            parent: 1,
            ..Gen::root(9, "query", T0 + 3 * MS, 4 * MS)
        },
    ];
    let (rows, _) = read_all(&[file(&[line("s", &family)])]).unwrap();
    let mut report = Backpressure::new(Selection {
        trace: Some(TraceId::from(9u128)),
        ..Selection::default()
    });
    for row in &rows {
        report.add(row);
    }
    let json = report.finish().json;
    let handle = json["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "handle")
        .unwrap();
    assert_eq!(handle["mean_in_children_ns"], 7_000_000.0);

    // SpanData, as the embedded store holds it, converts without a file.
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    provider.tracer("t").in_span("in-process", |_| {});
    let data: Vec<SpanData> = exporter.get_finished_spans().unwrap();
    let mut latency = Latency::new("service.name", Selection::default());
    for span in &data {
        latency.add(&spanflow_report::SpanRow::from(span));
    }
    assert_eq!(latency.finish().json["groups"][0]["count"], 1);
}
