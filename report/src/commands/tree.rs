//! `tree`: one trace (by id, the slowest, or those with errors) drawn as
//! the terminal exporter draws it, the slowest path marked and log lines
//! under their spans.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanContext, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use spanflow::export::{Trace, TreeStyle, render_tree};

use crate::read::{ReadReport, for_each_span};
use crate::span::{AttributeValue, SpanRow};

/// Which traces to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceChoice {
    /// This one.
    Id(TraceId),
    /// The one whose root took longest.
    Slowest,
    /// Up to this many traces with an error.
    Errors(usize),
}

/// The chosen traces, drawn; two passes over the files (the first finds
/// the traces, the second collects only their spans).
pub fn trees(
    paths: &[PathBuf],
    choice: &TraceChoice,
    style: TreeStyle,
) -> io::Result<(Vec<String>, ReadReport)> {
    let wanted: HashSet<TraceId> = match choice {
        TraceChoice::Id(id) => HashSet::from([*id]),
        TraceChoice::Slowest => {
            let mut slowest: Option<(u64, TraceId)> = None;
            for_each_span(paths, |span| {
                if span.is_local_root() && slowest.is_none_or(|(took, _)| span.duration_ns() > took)
                {
                    slowest = Some((span.duration_ns(), span.trace_id));
                }
            })?;
            slowest.into_iter().map(|(_, id)| id).collect()
        }
        TraceChoice::Errors(limit) => {
            let mut found = Vec::new();
            for_each_span(paths, |span| {
                if span.error && found.len() < *limit && !found.contains(&span.trace_id) {
                    found.push(span.trace_id);
                }
            })?;
            found.into_iter().collect()
        }
    };
    let mut spans: HashMap<TraceId, Vec<SpanData>> = HashMap::new();
    let report = for_each_span(paths, |span| {
        if wanted.contains(&span.trace_id) {
            spans
                .entry(span.trace_id)
                .or_default()
                .push(to_span_data(span));
        }
    })?;
    let mut drawn: Vec<(SystemTime, String)> = spans
        .into_values()
        .map(|spans| {
            let trace = Trace::new(spans);
            (
                trace.start().unwrap_or(SystemTime::UNIX_EPOCH),
                render_tree(&trace, style),
            )
        })
        .collect();
    drawn.sort_by_key(|(start, _)| *start);
    Ok((drawn.into_iter().map(|(_, text)| text).collect(), report))
}

fn to_span_data(span: SpanRow) -> SpanData {
    let at = |ns: u64| SystemTime::UNIX_EPOCH + Duration::from_nanos(ns);
    let mut events = SpanEvents::default();
    events.events = span
        .events
        .into_iter()
        .map(|event| {
            Event::new(
                event.name,
                at(event.time_ns),
                key_values(event.attributes),
                0,
            )
        })
        .collect();
    SpanData {
        span_context: SpanContext::new(
            span.trace_id,
            span.span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: span.parent_span_id,
        parent_span_is_remote: span.parent_is_remote,
        span_kind: span.kind,
        name: span.name.into(),
        start_time: at(span.start_ns),
        end_time: at(span.end_ns),
        attributes: key_values(span.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: if span.error {
            Status::error("")
        } else {
            Status::Unset
        },
        instrumentation_scope: InstrumentationScope::builder("spanflow-report").build(),
    }
}

fn key_values(attributes: Vec<(String, AttributeValue)>) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| match value {
            AttributeValue::Str(text) => KeyValue::new(key, text),
            AttributeValue::Int(number) => KeyValue::new(key, number),
            AttributeValue::Float(number) => KeyValue::new(key, number),
            AttributeValue::Bool(flag) => KeyValue::new(key, flag),
        })
        .collect()
}
