//! The pipeline's and the tail sampler's counters as OpenTelemetry
//! metrics, through the global meter provider.

use std::collections::HashMap;

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::tail::{Policy, TailSampler};
use spanflow::trace;

#[trace(err)]
fn work(fail: bool) -> Result<(), String> {
    if fail { Err("boom".into()) } else { Ok(()) }
}

/// `metric name{decision}` → value, from the last collection.
fn observed(exporter: &InMemoryMetricExporter) -> HashMap<String, u64> {
    let mut values = HashMap::new();
    let collected = exporter.get_finished_metrics().unwrap();
    for resource in collected.iter().rev().take(1) {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                let points: Vec<(String, u64)> = match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                        .data_points()
                        .map(|point| (decision(point.attributes()), point.value()))
                        .collect(),
                    AggregatedMetrics::U64(MetricData::Gauge(gauge)) => gauge
                        .data_points()
                        .map(|point| (decision(point.attributes()), point.value()))
                        .collect(),
                    _ => Vec::new(),
                };
                for (decision, value) in points {
                    values.insert(format!("{}{decision}", metric.name()), value);
                }
            }
        }
    }
    values
}

fn decision<'a>(attributes: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    attributes
        .filter(|kv| kv.key.as_str() == "decision")
        .map(|kv| format!("{{{}}}", kv.value))
        .collect()
}

#[test]
fn counters_are_published_through_the_global_meter_provider() {
    let metrics = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());

    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(InMemorySpanExporter::default())
        .with_tail_sampling(TailSampler::builder(Policy::errors()))
        .install()
        .expect("the only pipeline of this binary");
    for index in 0..10 {
        let _ = work(index % 5 == 0);
    }
    pipeline.flush().unwrap();
    provider.force_flush().unwrap();

    let values = observed(&metrics);
    assert_eq!(
        values.get("spanflow.tail_sampling.traces{kept}"),
        Some(&2),
        "{values:?}"
    );
    assert_eq!(
        values.get("spanflow.tail_sampling.traces{dropped}"),
        Some(&8)
    );
    assert_eq!(values.get("spanflow.tail_sampling.spans{kept}"), Some(&2));
    assert_eq!(
        values.get("spanflow.tail_sampling.traces_evicted"),
        Some(&0)
    );
    assert_eq!(
        values.get("spanflow.tail_sampling.buffered_traces"),
        Some(&0)
    );
}
