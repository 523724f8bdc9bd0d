//! `histogram SPAN_NAME --buckets 100ms,500ms`: how many spans fall in
//! each duration bucket.

use serde_json::json;

use crate::output::{Chart, Output, Table, duration, percent};
use crate::span::SpanRow;

/// The duration distribution of one span name over fixed buckets.
#[derive(Debug)]
pub struct DurationHistogram {
    name: String,
    bounds: Vec<u64>,
    counts: Vec<u64>,
}

impl DurationHistogram {
    /// Buckets split at `bounds` (nanoseconds, sorted and deduplicated
    /// here): below the first, between each pair, at or above the last.
    pub fn new(name: impl Into<String>, mut bounds: Vec<u64>) -> Self {
        bounds.sort_unstable();
        bounds.dedup();
        let counts = vec![0; bounds.len() + 1];
        DurationHistogram {
            name: name.into(),
            bounds,
            counts,
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if span.name != self.name {
            return;
        }
        let bucket = self
            .bounds
            .partition_point(|&bound| bound <= span.duration_ns());
        self.counts[bucket] += 1;
    }

    /// The counts and shares per bucket.
    pub fn finish(self) -> Output {
        let total: u64 = self.counts.iter().sum();
        let labels: Vec<String> = (0..self.counts.len())
            .map(|index| {
                match (
                    index.checked_sub(1).map(|i| self.bounds[i]),
                    self.bounds.get(index),
                ) {
                    (None, Some(upper)) => format!("< {}", duration(*upper)),
                    (Some(lower), Some(upper)) => {
                        format!("{} – {}", duration(lower), duration(*upper))
                    }
                    (Some(lower), None) => format!(">= {}", duration(lower)),
                    (None, None) => "all".to_owned(),
                }
            })
            .collect();
        let rows = labels
            .iter()
            .zip(&self.counts)
            .map(|(label, count)| vec![label.clone(), count.to_string(), percent(*count, total)])
            .collect();
        let json_buckets: Vec<_> = labels
            .iter()
            .enumerate()
            .map(|(index, label)| {
                json!({
                    "bucket": label,
                    "from_ns": index.checked_sub(1).map(|i| self.bounds[i]),
                    "to_ns": self.bounds.get(index),
                    "count": self.counts[index],
                    "share": self.counts[index] as f64 / total.max(1) as f64,
                })
            })
            .collect();
        Output {
            table: Table {
                title: format!("{}: {total} spans", self.name),
                header: ["duration", "count", "share"].map(String::from).to_vec(),
                rows,
                notes: Vec::new(),
            },
            json: json!({ "name": self.name, "total": total, "buckets": json_buckets }),
            chart: Some(Chart {
                title: format!("{} duration", self.name),
                labels,
                series: vec![(
                    "spans".to_owned(),
                    self.counts.iter().map(|&count| count as f64).collect(),
                )],
                bars: true,
                unit: String::new(),
            }),
        }
    }
}
