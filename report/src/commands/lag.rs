//! `lag`: consumer latency against consumer lag over time, and how
//! strongly they move together.

use std::collections::BTreeMap;

use opentelemetry::trace::SpanKind;
use serde_json::json;

use crate::output::{Chart, Output, Table, duration};
use crate::span::SpanRow;
use crate::stats::Correlation;

/// The attribute spanflow-kafka records the lag in.
pub const LAG_KEY: &str = "spanflow.kafka.consumer_lag";

#[derive(Debug, Default)]
struct Bucket {
    count: u64,
    duration_sum: f64,
    lag_sum: f64,
    lag_max: f64,
}

/// Consumer spans with a lag, bucketed by start time.
#[derive(Debug)]
pub struct Lag {
    bucket_ns: u64,
    buckets: BTreeMap<u64, Bucket>,
    correlation: Correlation,
}

impl Lag {
    /// Buckets of `bucket_ns` nanoseconds.
    pub fn new(bucket_ns: u64) -> Self {
        Lag {
            bucket_ns: bucket_ns.max(1),
            buckets: BTreeMap::new(),
            correlation: Correlation::default(),
        }
    }

    /// Takes one span (consumer spans with a lag only).
    pub fn add(&mut self, span: &SpanRow) {
        let Some(lag) = span.number(LAG_KEY) else {
            return;
        };
        if span.kind != SpanKind::Consumer {
            return;
        }
        let took = span.duration_ns() as f64;
        let bucket = self
            .buckets
            .entry(span.start_ns / self.bucket_ns)
            .or_default();
        bucket.count += 1;
        bucket.duration_sum += took;
        bucket.lag_sum += lag;
        bucket.lag_max = bucket.lag_max.max(lag);
        self.correlation.add(lag, took);
    }

    /// Per bucket: messages, mean latency, mean and largest lag; and
    /// Pearson's r over all messages.
    pub fn finish(self) -> Output {
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        let mut labels = Vec::new();
        let (mut latency_series, mut lag_series) = (Vec::new(), Vec::new());
        let first = self.buckets.keys().next().copied().unwrap_or(0);
        for (index, bucket) in &self.buckets {
            let offset = (index - first) * self.bucket_ns;
            let mean_ns = bucket.duration_sum / bucket.count as f64;
            let mean_lag = bucket.lag_sum / bucket.count as f64;
            let label = format!("+{}", duration(offset));
            rows.push(vec![
                label.clone(),
                bucket.count.to_string(),
                duration(mean_ns as u64),
                format!("{mean_lag:.1}"),
                format!("{:.0}", bucket.lag_max),
            ]);
            json_rows.push(json!({
                "bucket_start_unix_ns": index * self.bucket_ns, "messages": bucket.count,
                "mean_latency_ns": mean_ns, "mean_lag": mean_lag, "max_lag": bucket.lag_max,
            }));
            labels.push(label);
            latency_series.push(mean_ns / 1e6);
            lag_series.push(mean_lag);
        }
        let r = self.correlation.coefficient();
        Output {
            table: Table {
                title: "Consumer latency against consumer lag".to_owned(),
                header: ["time", "messages", "mean latency", "mean lag", "max lag"]
                    .map(String::from)
                    .to_vec(),
                rows,
                notes: vec![format!(
                    "Pearson r (lag, latency) over {} messages: {}",
                    self.correlation.count(),
                    r.map_or("-".into(), |r| format!("{r:.3}"))
                )],
            },
            json: json!({ "bucket_ns": self.bucket_ns, "buckets": json_rows, "pearson_r": r }),
            chart: Some(Chart {
                title: "Consumer latency (ms) and lag (messages)".to_owned(),
                labels,
                series: vec![
                    ("mean latency, ms".to_owned(), latency_series),
                    ("mean lag, messages".to_owned(), lag_series),
                ],
                bars: false,
                unit: String::new(),
            }),
        }
    }
}
