//! `compare --by deployment.variant`: two (or more) groups side by side,
//! with the difference and whether it is more than chance.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Selection, group_of};
use crate::output::{Output, Table, duration, percent};
use crate::span::SpanRow;
use crate::stats::{Distribution, Reservoir, mann_whitney, normal_upper_tail};

/// Samples kept per group for the significance test.
const SAMPLE: usize = 20_000;

#[derive(Debug)]
struct Group {
    distribution: Distribution,
    sample: Reservoir,
    errors: u64,
}

/// Groups compared on latency and error rate.
#[derive(Debug)]
pub struct Compare {
    by: String,
    selection: Selection,
    baseline: Option<String>,
    candidate: Option<String>,
    groups: BTreeMap<String, Group>,
}

impl Compare {
    /// Compares the values of attribute `by`; the test is between
    /// `baseline` and `candidate` (default: the first two values in order).
    pub fn new(
        by: impl Into<String>,
        selection: Selection,
        baseline: Option<String>,
        candidate: Option<String>,
    ) -> Self {
        Compare {
            by: by.into(),
            selection,
            baseline,
            candidate,
            groups: BTreeMap::new(),
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if !self.selection.accepts(span) {
            return;
        }
        let group = self
            .groups
            .entry(group_of(span, &self.by))
            .or_insert_with(|| Group {
                distribution: Distribution::default(),
                sample: Reservoir::new(SAMPLE),
                errors: 0,
            });
        group.distribution.add(span.duration_ns());
        group.sample.add(span.duration_ns() as f64);
        group.errors += u64::from(span.error);
    }

    /// The side-by-side table, the differences and the tests.
    pub fn finish(mut self) -> Output {
        let mut rows = Vec::new();
        let mut json_groups = Vec::new();
        let mut summary = BTreeMap::new();
        for (name, group) in &mut self.groups {
            let count = group.distribution.count();
            let p50 = group.distribution.quantile(0.5).unwrap_or(0);
            let p99 = group.distribution.quantile(0.99).unwrap_or(0);
            summary.insert(name.clone(), (count, p50, p99, group.errors));
            rows.push(vec![
                name.clone(),
                count.to_string(),
                duration(p50),
                duration(p99),
                percent(group.errors, count),
            ]);
            json_groups.push(json!({
                "group": name, "count": count, "p50_ns": p50, "p99_ns": p99,
                "errors": group.errors, "error_rate": group.errors as f64 / count.max(1) as f64,
            }));
        }
        let names: Vec<String> = self.groups.keys().cloned().collect();
        let baseline = self.baseline.clone().or_else(|| names.first().cloned());
        let candidate = self.candidate.clone().or_else(|| {
            names
                .iter()
                .find(|name| Some(*name) != baseline.as_ref())
                .cloned()
        });
        let mut notes = Vec::new();
        let mut test = serde_json::Value::Null;
        if let (Some(base), Some(cand)) = (&baseline, &candidate)
            && let (Some(b), Some(c)) = (self.groups.get(base), self.groups.get(cand))
        {
            let (bn, b50, b99, be) = summary[base];
            let (cn, c50, c99, ce) = summary[cand];
            let latency_p = mann_whitney(b.sample.values(), c.sample.values()).map(|(_, p)| p);
            let error_p = two_proportion_p(be, bn, ce, cn);
            let signed = |c: u64, b: u64| {
                let difference = c as i128 - b as i128;
                let sign = if difference < 0 { "-" } else { "+" };
                format!("{sign}{}", duration(difference.unsigned_abs() as u64))
            };
            notes.push(format!(
                "{cand} against {base}: p50 {}, p99 {}, error rate {:+.2} points",
                signed(c50, b50),
                signed(c99, b99),
                (ce as f64 / cn.max(1) as f64 - be as f64 / bn.max(1) as f64) * 100.0
            ));
            notes.push(format!(
                "latency differs (Mann-Whitney U, two-sided): p = {}; error rate differs (two-proportion z): p = {}",
                latency_p.map_or("-".into(), |p| format!("{p:.3e}")),
                error_p.map_or("-".into(), |p| format!("{p:.3e}")),
            ));
            test = json!({
                "baseline": base, "candidate": cand,
                "p50_difference_ns": c50 as i128 - b50 as i128,
                "p99_difference_ns": c99 as i128 - b99 as i128,
                "latency_p_value": latency_p,
                "error_rate_p_value": error_p,
            });
        }
        Output {
            table: Table {
                title: format!("Compare by {}", self.by),
                header: ["group", "count", "p50", "p99", "errors"]
                    .map(String::from)
                    .to_vec(),
                rows,
                notes,
            },
            json: json!({ "by": self.by, "groups": json_groups, "test": test }),
            chart: None,
        }
    }
}

/// Two-sided p-value that two error rates differ (pooled z-test).
fn two_proportion_p(errors_a: u64, count_a: u64, errors_b: u64, count_b: u64) -> Option<f64> {
    if count_a == 0 || count_b == 0 {
        return None;
    }
    let (na, nb) = (count_a as f64, count_b as f64);
    let pooled = (errors_a + errors_b) as f64 / (na + nb);
    let spread = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if spread == 0.0 {
        return Some(1.0);
    }
    let z = (errors_a as f64 / na - errors_b as f64 / nb).abs() / spread;
    Some((2.0 * normal_upper_tail(z)).min(1.0))
}
