//! `backpressure`: where time goes for a span name — queued before it ran,
//! waiting while it ran (idle between polls), and working (busy polling) —
//! from the runtime's clocks; for one trace (`--trace`), also the time in
//! its child spans (a trace is small enough to hold, the whole input is
//! not).

use std::collections::{BTreeMap, HashMap};

use opentelemetry::trace::SpanId;

use serde_json::json;

use super::Selection;
use crate::output::{Output, Table, duration, percent};
use crate::span::SpanRow;

#[derive(Debug, Default)]
struct Sums {
    count: u64,
    total: f64,
    queued: f64,
    waiting: f64,
    working: f64,
    in_children: f64,
}

/// Queued / waiting / working time per span name.
#[derive(Debug)]
pub struct Backpressure {
    selection: Selection,
    names: BTreeMap<String, Sums>,
    /// For one trace: (span, parent, name, duration) of every span.
    tree: Vec<(SpanId, SpanId, String, u64)>,
}

impl Backpressure {
    /// Over the spans `selection` accepts (use `all_spans` to see every
    /// span name).
    pub fn new(selection: Selection) -> Self {
        Backpressure {
            selection,
            names: BTreeMap::new(),
            tree: Vec::new(),
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if !self.selection.accepts(span) {
            return;
        }
        if self.selection.trace.is_some() {
            self.tree.push((
                span.span_id,
                span.parent_span_id,
                span.name.clone(),
                span.duration_ns(),
            ));
        }
        let sums = self.names.entry(span.name.clone()).or_default();
        sums.count += 1;
        sums.total += span.duration_ns() as f64;
        // Before the work: spawn queue, actor mailbox, Kafka topic.
        sums.queued += span.number("spanflow.queued_ns").unwrap_or(0.0)
            + span.number("spanflow.mailbox_ns").unwrap_or(0.0)
            + span
                .number("spanflow.kafka.time_in_topic_ms")
                .unwrap_or(0.0)
                * 1e6;
        sums.waiting += span.number("spanflow.idle_ns").unwrap_or(0.0);
        sums.working += span.number("spanflow.busy_ns").unwrap_or(0.0);
    }

    /// Means per span name, and each part's share of queued + duration.
    pub fn finish(mut self) -> Output {
        // Time in direct children (summed: parallel children can add up to
        // more than their parent's duration).
        let mut in_children: HashMap<SpanId, u64> = HashMap::new();
        for (_, parent, _, took) in &self.tree {
            *in_children.entry(*parent).or_default() += took;
        }
        for (id, _, name, _) in &self.tree {
            if let Some(sums) = self.names.get_mut(name) {
                sums.in_children += in_children.get(id).copied().unwrap_or(0) as f64;
            }
        }
        let with_children = self.selection.trace.is_some();
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        for (name, sums) in &self.names {
            let n = sums.count as f64;
            let whole = (sums.queued + sums.total).max(1.0);
            let share = |part: f64| percent((part / whole * 1e6) as u64, 1_000_000);
            let mut row = vec![
                name.clone(),
                sums.count.to_string(),
                duration((sums.queued / n) as u64),
                duration((sums.waiting / n) as u64),
                duration((sums.working / n) as u64),
                duration((sums.total / n) as u64),
                share(sums.queued),
                share(sums.waiting),
                share(sums.working),
            ];
            if with_children {
                row.push(duration((sums.in_children / n) as u64));
            }
            rows.push(row);
            json_rows.push(json!({
                "name": name, "count": sums.count,
                "mean_queued_ns": sums.queued / n, "mean_waiting_ns": sums.waiting / n,
                "mean_working_ns": sums.working / n, "mean_duration_ns": sums.total / n,
                "mean_in_children_ns": with_children.then_some(sums.in_children / n),
            }));
        }
        Output {
            table: Table {
                title: "Queued, waiting and working time (means)".to_owned(),
                header: [
                    "span",
                    "count",
                    "queued",
                    "waiting",
                    "working",
                    "duration",
                    "queued%",
                    "waiting%",
                    "working%",
                    "in children",
                ]
                .iter()
                .take(if with_children { 10 } else { 9 })
                .map(|cell| (*cell).to_owned())
                .collect(),
                rows,
                notes: vec![
                    "queued: spawn queue + actor mailbox + time in a Kafka topic; waiting: idle \
                     between polls (awaiting I/O or children); working: busy polling"
                        .to_owned(),
                ],
            },
            json: json!({ "spans": json_rows }),
            chart: None,
        }
    }
}
