//! `OTEL_LOG_LEVEL` decides which of spanflow's messages about itself reach
//! standard error: this binary runs its own ignored test as a child process
//! under each level and reads what the child said.

mod env;

use std::process::Command;
use std::time::Duration;

use env::{refused, set, unset};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

const CHILD: &str = "child_drops_spans_and_fails_an_export";
const DROPPED: &str = "spans dropped";
const FAILED: &str = "an export of";

#[derive(Debug)]
struct Failing;

impl SpanExporter for Failing {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("refusing on purpose".into()))
    }
}

#[spanflow::trace]
fn work() {}

/// Fills this thread's queue past its capacity (a warning), then flushes
/// the rest into an exporter that fails (an error).
#[test]
#[ignore = "run as a child process by log_level_decides_which_messages_reach_standard_error"]
fn child_drops_spans_and_fails_an_export() {
    let pipeline = spanflow::Pipeline::new()
        .with_batch_exporter(Failing)
        .with_queue_capacity(16)
        .with_collect_interval(Duration::from_secs(3600))
        .install()
        .expect("installs");
    for _ in 0..100 {
        work();
    }
    pipeline.flush().expect("flushed");
    assert!(pipeline.dropped_spans() > 0, "the queue overflowed");
    assert!(pipeline.export_stats().failed > 0, "the export failed");
}

/// What the child said on standard error with `OTEL_LOG_LEVEL` at `level`
/// (unset for `None`).
fn child_stderr(level: Option<&str>) -> String {
    let mut child = Command::new(std::env::current_exe().expect("this test binary"));
    child.args([
        "--exact",
        CHILD,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    child.env_remove("OTEL_LOG_LEVEL");
    child.env_remove("OTEL_CONFIG_FILE");
    if let Some(level) = level {
        child.env("OTEL_LOG_LEVEL", level);
    }
    let output = child.output().expect("the child runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "child under {level:?} failed:\n{stderr}"
    );
    stderr
}

#[test]
fn log_level_decides_which_messages_reach_standard_error() {
    for (level, dropped, failed) in [
        (None, true, true),
        (Some("debug"), true, true),
        (Some("WARN"), true, true),
        (Some("error"), false, true),
        (Some("none"), false, false),
    ] {
        let stderr = child_stderr(level);
        assert_eq!(
            (stderr.contains(DROPPED), stderr.contains(FAILED)),
            (dropped, failed),
            "OTEL_LOG_LEVEL={level:?} said:\n{stderr}"
        );
    }

    set("SPANFLOW_EXPORT", "memory");
    set("OTEL_LOG_LEVEL", "loud");
    let error = refused(spanflow::pipeline!().install(), "OTEL_LOG_LEVEL", "loud");
    assert!(error.reason.contains("none, error, warn"), "{error}");
    unset("OTEL_LOG_LEVEL");
    spanflow::pipeline!()
        .install()
        .expect("installs without OTEL_LOG_LEVEL");
}
