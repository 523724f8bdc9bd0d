//! `timeline --by k8s.pod.name`: requests, errors and latency per group
//! over time ("old pod or new pod?").

use std::collections::BTreeMap;

use serde_json::json;

use super::{Selection, group_of};
use crate::output::{Chart, Output, Table, duration, percent};
use crate::span::SpanRow;
use crate::stats::Distribution;

/// Per time bucket and group: count, errors, P50 and P99.
#[derive(Debug)]
pub struct Timeline {
    by: String,
    bucket_ns: u64,
    selection: Selection,
    cells: BTreeMap<(u64, String), (Distribution, u64)>,
}

impl Timeline {
    /// Groups by attribute `by`, in buckets of `bucket_ns`.
    pub fn new(by: impl Into<String>, bucket_ns: u64, selection: Selection) -> Self {
        Timeline {
            by: by.into(),
            bucket_ns: bucket_ns.max(1),
            selection,
            cells: BTreeMap::new(),
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if !self.selection.accepts(span) {
            return;
        }
        let key = (span.start_ns / self.bucket_ns, group_of(span, &self.by));
        let (distribution, errors) = self.cells.entry(key).or_default();
        distribution.add(span.duration_ns());
        *errors += u64::from(span.error);
    }

    /// One row per bucket and group; a chart of P99 per group.
    pub fn finish(mut self) -> Output {
        let first = self.cells.keys().next().map_or(0, |(bucket, _)| *bucket);
        let buckets: Vec<u64> = {
            let mut all: Vec<u64> = self.cells.keys().map(|(bucket, _)| *bucket).collect();
            all.dedup();
            all
        };
        let mut groups: Vec<String> = self.cells.keys().map(|(_, group)| group.clone()).collect();
        groups.sort();
        groups.dedup();
        let label = |bucket: u64| format!("+{}", duration((bucket - first) * self.bucket_ns));
        let mut series: BTreeMap<String, Vec<f64>> = groups
            .iter()
            .map(|group| (group.clone(), vec![0.0; buckets.len()]))
            .collect();
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        for ((bucket, group), (distribution, errors)) in &mut self.cells {
            let count = distribution.count();
            let p50 = distribution.quantile(0.5).unwrap_or(0);
            let p99 = distribution.quantile(0.99).unwrap_or(0);
            rows.push(vec![
                label(*bucket),
                group.clone(),
                count.to_string(),
                percent(*errors, count),
                duration(p50),
                duration(p99),
            ]);
            json_rows.push(json!({
                "bucket_start_unix_ns": *bucket * self.bucket_ns, "group": group,
                "count": count, "errors": errors, "p50_ns": p50, "p99_ns": p99,
            }));
            if let (Some(values), Ok(index)) =
                (series.get_mut(group), buckets.binary_search(bucket))
            {
                values[index] = p99 as f64 / 1e6;
            }
        }
        Output {
            table: Table {
                title: format!("Timeline by {}", self.by),
                header: ["time", "group", "count", "errors", "p50", "p99"]
                    .map(String::from)
                    .to_vec(),
                rows,
                notes: Vec::new(),
            },
            json: json!({ "by": self.by, "bucket_ns": self.bucket_ns, "cells": json_rows }),
            chart: Some(Chart {
                title: format!("p99 latency (ms) by {}", self.by),
                labels: buckets.iter().map(|bucket| label(*bucket)).collect(),
                series: series.into_iter().collect(),
                bars: false,
                unit: "ms".to_owned(),
            }),
        }
    }
}
