//! `backpressure`: where time goes for a span name — queued before it ran,
//! waiting while it ran (idle between polls), and working (busy polling) —
//! from the runtime's clocks.

use std::collections::BTreeMap;

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
}

/// Queued / waiting / working time per span name.
#[derive(Debug)]
pub struct Backpressure {
    selection: Selection,
    names: BTreeMap<String, Sums>,
}

impl Backpressure {
    /// Over the spans `selection` accepts (use `all_spans` to see every
    /// span name).
    pub fn new(selection: Selection) -> Self {
        Backpressure {
            selection,
            names: BTreeMap::new(),
        }
    }

    /// Takes one span.
    pub fn add(&mut self, span: &SpanRow) {
        if !self.selection.accepts(span) {
            return;
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
    pub fn finish(self) -> Output {
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        for (name, sums) in &self.names {
            let n = sums.count as f64;
            let whole = (sums.queued + sums.total).max(1.0);
            let share = |part: f64| percent((part / whole * 1e6) as u64, 1_000_000);
            rows.push(vec![
                name.clone(),
                sums.count.to_string(),
                duration((sums.queued / n) as u64),
                duration((sums.waiting / n) as u64),
                duration((sums.working / n) as u64),
                duration((sums.total / n) as u64),
                share(sums.queued),
                share(sums.waiting),
                share(sums.working),
            ]);
            json_rows.push(json!({
                "name": name, "count": sums.count,
                "mean_queued_ns": sums.queued / n, "mean_waiting_ns": sums.waiting / n,
                "mean_working_ns": sums.working / n, "mean_duration_ns": sums.total / n,
            }));
        }
        Output {
            table: Table {
                title: "Queued, waiting and working time (means)".to_owned(),
                header: [
                    "span", "count", "queued", "waiting", "working", "duration", "queued%",
                    "waiting%", "working%",
                ]
                .map(String::from)
                .to_vec(),
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
