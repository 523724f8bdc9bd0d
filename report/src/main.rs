//! `spanflow`: reports over traces in OTLP-JSON files.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use opentelemetry::trace::{SpanKind, TraceId};
use spanflow::export::TreeStyle;
use spanflow_report::read::{ReadReport, for_each_span};
use spanflow_report::{
    Backpressure, Compare, DurationHistogram, Lag, Latency, Selection, SpanReport, Timeline,
    TraceChoice, trees,
};

/// Reports over traces: where did the time go?
#[derive(Parser, Debug)]
#[command(name = "spanflow", version)]
struct Cli {
    #[command(subcommand)]
    report: Report,
}

#[derive(Subcommand, Debug)]
enum Report {
    /// Draw a trace: by id, the slowest, or those with errors.
    Tree {
        #[command(flatten)]
        input: Input,
        /// The trace id (32 hex digits).
        #[arg(long, conflicts_with_all = ["slowest", "errors"], value_parser = parse_trace_id)]
        trace: Option<TraceId>,
        /// The trace whose root took longest (the default).
        #[arg(long)]
        slowest: bool,
        /// Traces with an error (up to 5).
        #[arg(long)]
        errors: bool,
    },
    /// Count, P50 / P95 / P99 / max and error rate by an attribute.
    Latency {
        #[command(flatten)]
        input: Input,
        /// The attribute to group by.
        #[arg(long, default_value = "service.name")]
        by: String,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// One span name's durations over buckets.
    Histogram {
        /// The span name.
        name: String,
        #[command(flatten)]
        input: Input,
        /// Bucket bounds, e.g. 100ms,500ms,1s.
        #[arg(long, value_delimiter = ',', value_parser = parse_duration, default_value = "100ms,500ms,1s")]
        buckets: Vec<Duration>,
    },
    /// Groups side by side, with significance tests (canary against baseline).
    Compare {
        #[command(flatten)]
        input: Input,
        /// The attribute whose values are compared.
        #[arg(long, default_value = "spanflow.deployment.variant")]
        by: String,
        /// The reference value (default: the first in order).
        #[arg(long)]
        baseline: Option<String>,
        /// The value compared with it (default: the next).
        #[arg(long)]
        candidate: Option<String>,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// Consumer latency against consumer lag over time.
    Lag {
        #[command(flatten)]
        input: Input,
        /// Time bucket.
        #[arg(long, value_parser = parse_duration, default_value = "10s")]
        bucket: Duration,
    },
    /// Queued, waiting and working time per span name.
    Backpressure {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// Count, errors and latency per group over time (old pod or new pod?).
    Timeline {
        #[command(flatten)]
        input: Input,
        /// The attribute to group by.
        #[arg(long, default_value = "k8s.pod.name")]
        by: String,
        /// Time bucket.
        #[arg(long, value_parser = parse_duration, default_value = "1m")]
        bucket: Duration,
        #[command(flatten)]
        selection: SelectionArgs,
    },
}

#[derive(Args, Debug)]
struct Input {
    /// OTLP-JSON files (one request per line; .gz too).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the report's chart here as SVG (histogram, lag, timeline).
    #[arg(long)]
    svg: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SelectionArgs {
    /// Only spans of this trace (32 hex digits): every span of it.
    #[arg(long = "trace", value_parser = parse_trace_id)]
    trace: Option<TraceId>,
    /// Only spans with this name (default: where requests enter a process).
    #[arg(long)]
    name: Option<String>,
    /// Only spans of this kind, every one (`client` with `--by peer.service`:
    /// each called service's latency as its callers saw it).
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Every span, not only where requests enter a process.
    #[arg(long)]
    all_spans: bool,
}

/// A span kind, as `--kind` names it.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Kind {
    Server,
    Client,
    Producer,
    Consumer,
    Internal,
}

impl From<Kind> for SpanKind {
    fn from(kind: Kind) -> SpanKind {
        match kind {
            Kind::Server => SpanKind::Server,
            Kind::Client => SpanKind::Client,
            Kind::Producer => SpanKind::Producer,
            Kind::Consumer => SpanKind::Consumer,
            Kind::Internal => SpanKind::Internal,
        }
    }
}

impl From<SelectionArgs> for Selection {
    fn from(args: SelectionArgs) -> Selection {
        Selection {
            trace: args.trace,
            name: args.name,
            kind: args.kind.map(SpanKind::from),
            all_spans: args.all_spans,
        }
    }
}

fn parse_trace_id(text: &str) -> Result<TraceId, String> {
    TraceId::from_hex(text).map_err(|_| format!("{text:?} is not a trace id (32 hex digits)"))
}

/// `250ms`, `1.5s`, `2m`, `100us`, `10ns`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} has no unit (ns, us, ms, s, m, h)"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    let seconds = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit {other:?} (ns, us, ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(number * seconds).map_err(|error| format!("{text:?}: {error}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.report) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("spanflow: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(report: Report) -> io::Result<()> {
    match report {
        Report::Tree {
            input,
            trace,
            slowest: _,
            errors,
        } => {
            let choice = match (trace, errors) {
                (Some(id), _) => TraceChoice::Id(id),
                (None, true) => TraceChoice::Errors(5),
                (None, false) => TraceChoice::Slowest,
            };
            let style = TreeStyle::for_stream(&io::stdout());
            let (drawn, read) = trees(&input.files, &choice, style)?;
            warn_about(&read);
            if drawn.is_empty() {
                eprintln!("spanflow: no matching trace");
            }
            let mut out = io::stdout().lock();
            for tree in drawn {
                writeln!(out, "{tree}")?;
            }
            Ok(())
        }
        Report::Latency {
            input,
            by,
            selection,
        } => {
            let report = Latency::new(by, selection.into());
            stream(input, report)
        }
        Report::Histogram {
            name,
            input,
            buckets,
        } => {
            let bounds = buckets.iter().map(|d| d.as_nanos() as u64).collect();
            let report = DurationHistogram::new(name, bounds);
            stream(input, report)
        }
        Report::Compare {
            input,
            by,
            baseline,
            candidate,
            selection,
        } => {
            let report = Compare::new(by, selection.into(), baseline, candidate);
            stream(input, report)
        }
        Report::Lag { input, bucket } => {
            let report = Lag::new(bucket.as_nanos() as u64);
            stream(input, report)
        }
        Report::Backpressure { input, selection } => {
            let report = Backpressure::new(selection.into());
            stream(input, report)
        }
        Report::Timeline {
            input,
            by,
            bucket,
            selection,
        } => {
            let report = Timeline::new(by, bucket.as_nanos() as u64, selection.into());
            stream(input, report)
        }
    }
}

/// Feeds every span to `report`, then prints its result.
fn stream(input: Input, mut report: impl SpanReport) -> io::Result<()> {
    let read = for_each_span(&input.files, |span| report.add(&span))?;
    warn_about(&read);
    let output = report.finish();
    let mut out = io::stdout().lock();
    if input.json {
        let mut json = output.json;
        if let Some(object) = json.as_object_mut() {
            object.insert("spans_read".into(), read.spans.into());
            object.insert("lines_skipped".into(), read.skipped.into());
        }
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", output.table.render())?;
        writeln!(out, "({} spans read)", read.spans)?;
    }
    if let Some(path) = input.svg {
        match output.chart {
            Some(chart) => std::fs::write(&path, chart.to_svg())?,
            None => eprintln!(
                "spanflow: this report has no chart; {} not written",
                path.display()
            ),
        }
    }
    Ok(())
}

fn warn_about(read: &ReadReport) {
    if read.skipped == 0 {
        return;
    }
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for issue in &read.issues {
        let _ = writeln!(err, "spanflow: skipped {issue}");
    }
    if read.skipped > read.issues.len() as u64 {
        let _ = writeln!(err, "spanflow: ... {} lines skipped in all", read.skipped);
    }
    let _ = err.flush();
}
