//! `latency --by KEY`: count, P50 / P95 / P99 / max and error rate per
//! attribute value.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Selection, group_of};
use crate::output::{Output, Table, duration, percent};
use crate::span::SpanRow;
use crate::stats::Distribution;

/// Latency by the value of one attribute (`service.name`, ...).
#[derive(Debug)]
pub struct Latency {
    by: String,
    selection: Selection,
    groups: BTreeMap<String, (Distribution, u64)>,
}

impl Latency {
    /// Groups by attribute `by`, over the spans `selection` accepts.
    pub fn new(by: impl Into<String>, selection: Selection) -> Self {
        Latency {
            by: by.into(),
            selection,
            groups: BTreeMap::new(),
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if !self.selection.accepts(span) {
            return;
        }
        let (distribution, errors) = self.groups.entry(group_of(span, &self.by)).or_default();
        distribution.add(span.duration_ns());
        *errors += u64::from(span.error);
    }

    /// The table, slowest P99 first.
    pub fn finish(mut self) -> Output {
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        let mut exact = true;
        for (group, (distribution, errors)) in &mut self.groups {
            exact &= distribution.is_exact();
            let count = distribution.count();
            let [p50, p95, p99] = [0.5, 0.95, 0.99].map(|q| distribution.quantile(q).unwrap_or(0));
            let max = distribution.max();
            json_rows.push(json!({
                "group": group, "count": count, "p50_ns": p50, "p95_ns": p95,
                "p99_ns": p99, "max_ns": max, "errors": errors,
                "error_rate": *errors as f64 / count.max(1) as f64,
            }));
            rows.push((
                p99,
                vec![
                    group.clone(),
                    count.to_string(),
                    duration(p50),
                    duration(p95),
                    duration(p99),
                    duration(max),
                    percent(*errors, count),
                ],
            ));
        }
        rows.sort_by_key(|row| std::cmp::Reverse(row.0));
        let precision = if exact {
            "percentiles exact".to_owned()
        } else {
            "percentiles from an HDR histogram: within 0.1% of the true value".to_owned()
        };
        Output {
            table: Table {
                title: format!("Latency by {}", self.by),
                header: ["group", "count", "p50", "p95", "p99", "max", "errors"]
                    .map(String::from)
                    .to_vec(),
                rows: rows.into_iter().map(|(_, row)| row).collect(),
                notes: vec![precision],
            },
            json: json!({ "by": self.by, "exact": exact, "groups": json_rows }),
            chart: None,
        }
    }
}
