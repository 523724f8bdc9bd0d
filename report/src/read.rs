//! Reading spans from OTLP-JSON files: one `ExportTraceServiceRequest` per
//! line (the Collector's file exporter, and spanflow's `json:PATH` sink),
//! plain or gzip, streamed line by line so memory does not grow with the
//! input.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{span, status};

use crate::span::{AttributeValue, EventRow, SpanRow};

/// Problems met while reading; reading goes on past each.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// Spans read.
    pub spans: u64,
    /// Lines that could not be read, with why (the first 100; `skipped`
    /// counts them all).
    pub issues: Vec<ReadIssue>,
    /// Lines skipped.
    pub skipped: u64,
}

/// One unreadable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadIssue {
    /// The file.
    pub path: PathBuf,
    /// Its line number, from 1.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ReadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

const KEPT_ISSUES: usize = 100;

/// Calls `visit` with every span of every file, in order. A file that
/// cannot be opened is an error; an unreadable line (malformed JSON, a
/// truncated gzip stream) is recorded in the report and skipped.
pub fn for_each_span(paths: &[PathBuf], mut visit: impl FnMut(SpanRow)) -> io::Result<ReadReport> {
    let mut report = ReadReport::default();
    for path in paths {
        read_file(path, &mut report, &mut visit)?;
    }
    Ok(report)
}

/// Every span of `paths` in memory (for small inputs and tests).
pub fn read_all(paths: &[PathBuf]) -> io::Result<(Vec<SpanRow>, ReadReport)> {
    let mut spans = Vec::new();
    let report = for_each_span(paths, |span| spans.push(span))?;
    Ok((spans, report))
}

fn read_file(
    path: &Path,
    report: &mut ReadReport,
    visit: &mut impl FnMut(SpanRow),
) -> io::Result<()> {
    let file = File::open(path)
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
    let mut buffered = BufReader::with_capacity(1 << 20, file);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut lines: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    let mut line = Vec::with_capacity(1 << 16);
    let mut number = 0u64;
    loop {
        line.clear();
        number += 1;
        match lines.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(error) => {
                // A truncated or corrupt compressed stream: the rest of the
                // file is unreadable.
                issue(
                    report,
                    path,
                    number,
                    format!("unreadable from here on: {error}"),
                );
                return Ok(());
            }
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<ExportTraceServiceRequest>(text) {
            Ok(request) => visit_request(request, report, visit),
            Err(error) => issue(
                report,
                path,
                number,
                format!("not an OTLP-JSON line: {error}"),
            ),
        }
    }
}

fn issue(report: &mut ReadReport, path: &Path, line: u64, message: String) {
    report.skipped += 1;
    if report.issues.len() < KEPT_ISSUES {
        report.issues.push(ReadIssue {
            path: path.to_owned(),
            line,
            message,
        });
    }
}

fn visit_request(
    request: ExportTraceServiceRequest,
    report: &mut ReadReport,
    visit: &mut impl FnMut(SpanRow),
) {
    for resource_spans in request.resource_spans {
        let resource: Vec<(String, AttributeValue)> = resource_spans
            .resource
            .map(|resource| convert_attributes(resource.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let mut attributes = convert_attributes(span.attributes);
                attributes.extend(resource.iter().cloned());
                let error = span
                    .status
                    .is_some_and(|status| status.code == status::StatusCode::Error as i32)
                    || span.events.iter().any(|event| event.name == "exception");
                report.spans += 1;
                visit(SpanRow {
                    trace_id: TraceId::from_bytes(id_bytes(&span.trace_id)),
                    span_id: SpanId::from_bytes(id_bytes(&span.span_id)),
                    parent_span_id: SpanId::from_bytes(id_bytes(&span.parent_span_id)),
                    // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE | SPAN_FLAGS_CONTEXT_IS_REMOTE
                    parent_is_remote: span.flags & 0x300 == 0x300,
                    name: span.name,
                    kind: kind(span.kind),
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano,
                    error,
                    attributes,
                    events: span
                        .events
                        .into_iter()
                        .map(|event| EventRow {
                            time_ns: event.time_unix_nano,
                            name: event.name,
                            attributes: convert_attributes(event.attributes),
                        })
                        .collect(),
                });
            }
        }
    }
}

/// Ids of the wrong length (garbage) become zeros: the invalid id.
fn id_bytes<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

fn kind(kind: i32) -> SpanKind {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

fn convert_attributes(attributes: Vec<KeyValue>) -> Vec<(String, AttributeValue)> {
    attributes
        .into_iter()
        .filter_map(|kv| {
            let value = match kv.value?.value? {
                any_value::Value::StringValue(text) => AttributeValue::Str(text),
                any_value::Value::IntValue(number) => AttributeValue::Int(number),
                any_value::Value::DoubleValue(number) => AttributeValue::Float(number),
                any_value::Value::BoolValue(flag) => AttributeValue::Bool(flag),
                _ => return None,
            };
            Some((kv.key, value))
        })
        .collect()
}
