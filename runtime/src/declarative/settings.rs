//! What a configuration file says, in the terms spanflow already reads: each
//! property the file sets becomes the value of the `OTEL_*` variable that
//! sets the same thing (`tracer_provider.processors[0].batch.schedule_delay`
//! is `OTEL_BSP_SCHEDULE_DELAY`), so one parser checks a value whichever
//! way it came, and errors are told back in the file's terms. What has no
//! such variable is kept apart: the resource's typed attributes, and notes
//! about parts spanflow does not read.
//!
//! A file describes the SDK's whole pipeline, which spanflow builds in its
//! own shape: one OTLP export (gRPC or HTTP), one OTLP file export and the
//! terminal tree, a parent-based or plain sampler. A file asking for
//! something else (two OTLP endpoints, a Zipkin exporter, a parent-based
//! sampler with its own rules for remote parents) is an error that says
//! what spanflow can do, rather than a pipeline that silently differs from
//! the file.

use std::collections::BTreeMap;

use opentelemetry::KeyValue;

use super::node::{Node, Problem};
use crate::config::{HttpInstrumentation, OtlpFileExport, PeerServiceMapping};
use crate::diagnostics::Level;

/// The file's settings.
#[derive(Debug, Default)]
pub(crate) struct FileSettings {
    /// `OTEL_*` variable → the value the file gives it, and where.
    vars: BTreeMap<&'static str, Setting>,
    /// The resource's attributes, lowest priority first.
    pub(crate) resource: Vec<KeyValue>,
    /// The schema the resource's attributes follow.
    pub(crate) resource_schema_url: Option<String>,
    /// What to say at install about parts of the file not read.
    pub(crate) notes: Vec<(Level, String)>,
    /// The `otlp_file/development` exporter, which no variable stands for.
    pub(crate) otlp_file: Option<OtlpFileExport>,
    /// `instrumentation/development.general.sanitization.url
    /// .sensitive_query_parameters`, when given.
    pub(crate) sensitive_query_parameters: Option<Vec<String>>,
    /// `instrumentation/development.general.http`.
    pub(crate) http: HttpInstrumentation,
    /// `instrumentation/development.general.peer.service_mapping`.
    pub(crate) peer_service_mapping: Vec<PeerServiceMapping>,
}

#[derive(Debug)]
struct Setting {
    value: String,
    path: String,
}

impl FileSettings {
    /// The value the file gives the variable `name`, if any.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|setting| setting.value.clone())
    }

    /// Where in the file the value of `name` came from.
    pub(crate) fn path_of(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|setting| setting.path.as_str())
    }

    pub(super) fn set(&mut self, name: &'static str, value: String, path: &str) {
        self.vars.insert(
            name,
            Setting {
                value,
                path: path.to_owned(),
            },
        );
    }

    /// Sets `name` from the scalar under `key` of `node`, if present,
    /// failing if an earlier part of the file set it to another value
    /// (batch settings, which spanflow's batch exports share).
    pub(super) fn set_once_from(
        &mut self,
        name: &'static str,
        node: &Node<'_>,
        key: &str,
    ) -> Result<(), Problem> {
        if let Some((value, path)) = scalar_under(node, key)? {
            if let Some(earlier) = self.vars.get(name)
                && earlier.value != value
            {
                return Err(Problem::at(
                    &path,
                    format!(
                        "{value:?} differs from {}: {:?}; spanflow's batch exports share one \
                         set of batch settings",
                        earlier.path, earlier.value
                    ),
                ));
            }
            self.set(name, value, &path);
        }
        Ok(())
    }

    /// Sets `name` from the scalar under `key` of `node`, if present.
    pub(super) fn set_from(
        &mut self,
        name: &'static str,
        node: &Node<'_>,
        key: &str,
    ) -> Result<(), Problem> {
        if let Some((value, path)) = scalar_under(node, key)? {
            self.set(name, value, &path);
        }
        Ok(())
    }

    pub(super) fn note(&mut self, level: Level, message: String) {
        self.notes.push((level, message));
    }

    pub(super) fn note_unknown(&mut self, node: &Node<'_>, known: &[&str]) {
        for path in node.unknown_keys(known) {
            self.note(
                Level::Warn,
                format!("{path} is not a property spanflow knows; it is not read"),
            );
        }
    }
}

/// The scalar under `key` of `node` and where it is, if present and not
/// null.
fn scalar_under(node: &Node<'_>, key: &str) -> Result<Option<(String, String)>, Problem> {
    match node.field(key)? {
        Some(field) => Ok(field.scalar()?.map(|value| (value, field.path))),
        None => Ok(None),
    }
}

/// The major version of `file_format` read here.
const FILE_FORMAT_MAJOR: &str = "1";

/// Reads a parsed (and substituted) file; `env` is the environment, for
/// the one detector that reads it.
pub(super) fn read(
    root: &Node<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileSettings, Problem> {
    let mut settings = FileSettings::default();
    let format = root.text("file_format")?.ok_or_else(|| {
        Problem::at(
            "file_format",
            "missing: the file must say its format, \"1.0\" for instance",
        )
    })?;
    if format.split('.').next() != Some(FILE_FORMAT_MAJOR) {
        return Err(Problem::at(
            "file_format",
            format!("{format:?}: spanflow reads the stable schema's files, file_format \"1.x\""),
        ));
    }
    settings.note_unknown(
        root,
        &[
            "file_format",
            "disabled",
            "log_level",
            "attribute_limits",
            "resource",
            "propagator",
            "tracer_provider",
            "meter_provider",
            "logger_provider",
            "instrumentation/development",
        ],
    );
    settings.set_from("OTEL_SDK_DISABLED", root, "disabled")?;
    if let Some(field) = root.field("log_level")?
        && let Some(level) = field.scalar()?
    {
        // Severity names may carry a number (`info2`); the level is the same.
        let level = level.trim_end_matches(|c: char| c.is_ascii_digit());
        settings.set("OTEL_LOG_LEVEL", level.to_owned(), &field.path);
    }
    if let Some(limits) = root.field("attribute_limits")? {
        read_attribute_limits(&mut settings, &limits)?;
    }
    super::resource::read(&mut settings, root.field("resource")?.as_ref(), env)?;
    read_propagators(&mut settings, root.field("propagator")?.as_ref())?;
    match root.field("tracer_provider")? {
        Some(provider) => super::tracer_provider::read(&mut settings, &provider)?,
        None => {
            settings.set("OTEL_TRACES_EXPORTER", "none".into(), "tracer_provider");
            settings.note(
                Level::Info,
                "the file has no tracer_provider: spans are recorded but not exported".into(),
            );
        }
    }
    if let Some(instrumentation) = root.field("instrumentation/development")? {
        super::instrumentation::read(&mut settings, &instrumentation)?;
    }
    for (key, what) in [("meter_provider", "metrics"), ("logger_provider", "logs")] {
        if root.field(key)?.is_some() {
            settings.note(
                Level::Info,
                format!("{key} is not read: spanflow exports traces, not {what}"),
            );
        }
    }
    Ok(settings)
}

fn read_attribute_limits(settings: &mut FileSettings, limits: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(
        limits,
        &["attribute_value_length_limit", "attribute_count_limit"],
    );
    settings.set_from(
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        limits,
        "attribute_value_length_limit",
    )?;
    settings.set_from(
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        limits,
        "attribute_count_limit",
    )
}

/// `propagator.composite` then `.composite_list`, without repeats; no
/// section, or an empty one, propagates nothing (the schema's default).
fn read_propagators(
    settings: &mut FileSettings,
    propagator: Option<&Node<'_>>,
) -> Result<(), Problem> {
    let mut names: Vec<String> = Vec::new();
    let mut path = "propagator".to_owned();
    if let Some(propagator) = propagator {
        settings.note_unknown(propagator, &["composite", "composite_list"]);
        if let Some(composite) = propagator.field("composite")? {
            for item in composite.items()? {
                let (name, _) = item.single_entry()?;
                names.push(name.to_owned());
            }
            path = composite.path.clone();
        }
        if let Some(field) = propagator.field("composite_list")?
            && let Some(list) = field.scalar()?
        {
            names.extend(list.split(',').map(|name| name.trim().to_owned()));
            path = field.path.clone();
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        if !name.is_empty() && name != "none" && !unique.contains(&name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        settings.note(
            Level::Info,
            "the file names no propagator: trace context is neither read from requests nor \
             sent with them (add propagator.composite: [tracecontext:, baggage:])"
                .into(),
        );
        settings.set("OTEL_PROPAGATORS", "none".into(), &path);
    } else {
        settings.set("OTEL_PROPAGATORS", unique.join(","), &path);
    }
    Ok(())
}
