//! What a configuration file says, in the terms spanflow already reads: each
//! property the file sets becomes the value of the `OTEL_*` variable that
//! sets the same thing (`tracer_provider.processors[0].batch.schedule_delay`
//! is `OTEL_BSP_SCHEDULE_DELAY`), so one parser checks a value whichever
//! way it came, and errors are told back in the file's terms. What has no
//! such variable is kept apart: the resource's typed attributes, and notes
//! about parts spanflow does not read.
//!
//! A file describes the SDK's whole pipeline, which spanflow builds in its
//! own shape: one OTLP export (gRPC or HTTP) and the terminal tree, a
//! parent-based or plain sampler. A file asking for something else (two
//! OTLP endpoints, a Zipkin exporter, a parent-based sampler with its own
//! rules for remote parents) is an error that says what spanflow can do,
//! rather than a pipeline that silently differs from the file.

use std::collections::BTreeMap;

use opentelemetry::{Array, KeyValue, Value};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use super::node::{Node, Problem};
use crate::diagnostics::Level;

/// The file's settings.
#[derive(Debug, Default)]
pub(crate) struct FileSettings {
    /// `OTEL_*` variable → the value the file gives it, and where.
    vars: BTreeMap<&'static str, Setting>,
    /// The resource's attributes, lowest priority first.
    pub(crate) resource: Vec<KeyValue>,
    /// What to say at install about parts of the file not read.
    pub(crate) notes: Vec<(Level, String)>,
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

    fn set(&mut self, name: &'static str, value: String, path: &str) {
        self.vars.insert(
            name,
            Setting {
                value,
                path: path.to_owned(),
            },
        );
    }

    /// Sets `name` from the scalar under `key` of `node`, if present.
    fn set_from(&mut self, name: &'static str, node: &Node<'_>, key: &str) -> Result<(), Problem> {
        if let Some(field) = node.field(key)?
            && let Some(value) = field.scalar()?
        {
            self.set(name, value, &field.path);
        }
        Ok(())
    }

    fn note(&mut self, level: Level, message: String) {
        self.notes.push((level, message));
    }

    fn note_unknown(&mut self, node: &Node<'_>, known: &[&str]) {
        for path in node.unknown_keys(known) {
            self.note(
                Level::Warn,
                format!("{path} is not a property spanflow knows; it is not read"),
            );
        }
    }
}

/// The major version of `file_format` read here.
const FILE_FORMAT_MAJOR: &str = "1";

/// Reads a parsed (and substituted) file.
pub(super) fn read(root: &Node<'_>) -> Result<FileSettings, Problem> {
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
    read_resource(&mut settings, root.field("resource")?.as_ref())?;
    read_propagators(&mut settings, root.field("propagator")?.as_ref())?;
    match root.field("tracer_provider")? {
        Some(provider) => read_tracer_provider(&mut settings, &provider)?,
        None => {
            settings.set("OTEL_TRACES_EXPORTER", "none".into(), "tracer_provider");
            settings.note(
                Level::Info,
                "the file has no tracer_provider: spans are recorded but not exported".into(),
            );
        }
    }
    for (key, what) in [
        ("meter_provider", "metrics"),
        ("logger_provider", "logs"),
        ("instrumentation/development", "instrumentation settings"),
    ] {
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

/// `resource.attributes` (typed) over `resource.attributes_list` (the
/// `OTEL_RESOURCE_ATTRIBUTES` format).
fn read_resource(settings: &mut FileSettings, resource: Option<&Node<'_>>) -> Result<(), Problem> {
    let Some(resource) = resource else {
        return Ok(());
    };
    settings.note_unknown(
        resource,
        &[
            "attributes",
            "attributes_list",
            "schema_url",
            "detection/development",
        ],
    );
    if let Some(field) = resource.field("attributes_list")?
        && let Some(list) = field.scalar()?
    {
        for entry in list.split(',').filter(|entry| !entry.trim().is_empty()) {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| field.problem(format!("`{}` is not key=value", entry.trim())))?;
            let value = percent_decode_str(value.trim())
                .decode_utf8()
                .map_err(|_| {
                    field.problem(format!("the value of `{}` is not UTF-8", key.trim()))
                })?;
            settings
                .resource
                .push(KeyValue::new(key.trim().to_owned(), value.into_owned()));
        }
    }
    if let Some(attributes) = resource.field("attributes")? {
        for attribute in attributes.items()? {
            attribute
                .unknown_keys(&["name", "value", "type"])
                .first()
                .map_or(Ok(()), |path| {
                    Err(Problem::at(
                        path,
                        "not a property of a resource attribute (name, value, type)",
                    ))
                })?;
            let name = attribute
                .text("name")?
                .ok_or_else(|| attribute.problem("an attribute needs a name"))?;
            let Some(value) = attribute.field("value")? else {
                return Err(attribute.problem("an attribute needs a value"));
            };
            let kind = attribute.text("type")?.unwrap_or_else(|| "string".into());
            if let Some(value) = typed_value(&value, &kind)? {
                settings.resource.push(KeyValue::new(name, value));
            }
        }
    }
    if resource.field("schema_url")?.is_some() {
        settings.note(Level::Info, "resource.schema_url is not read".into());
    }
    if resource.field("detection/development")?.is_some() {
        settings.note(
            Level::Info,
            "resource.detection/development is not read: spanflow reads the host, the process \
             and the deployment's variables (ResourceEnv) itself"
                .into(),
        );
    }
    Ok(())
}

/// An attribute's value as its `type` says; `None` for null.
fn typed_value(value: &Node<'_>, kind: &str) -> Result<Option<Value>, Problem> {
    let scalar = |node: &Node<'_>, kind: &str| -> Result<Option<Value>, Problem> {
        let Some(text) = node.scalar()? else {
            return Ok(None);
        };
        let wrong = || node.problem(format!("{text:?} is not a {kind}"));
        Ok(Some(match kind {
            "string" => Value::from(text),
            "bool" => Value::Bool(match text.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(wrong()),
            }),
            "int" => Value::I64(parse_int(&text).ok_or_else(wrong)?),
            "double" => Value::F64(text.parse().map_err(|_| wrong())?),
            other => return Err(node.problem(format!("unknown type {other:?}"))),
        }))
    };
    let Some(item_kind) = kind.strip_suffix("_array") else {
        return match kind {
            "string" | "bool" | "int" | "double" => scalar(value, kind),
            other => Err(value.problem(format!(
                "unknown type {other:?}; expected string, bool, int, double or one of their _array forms"
            ))),
        };
    };
    if value.scalar().ok() == Some(None) {
        return Ok(None);
    }
    let mut array = match item_kind {
        "string" => Array::String(Vec::new()),
        "bool" => Array::Bool(Vec::new()),
        "int" => Array::I64(Vec::new()),
        "double" => Array::F64(Vec::new()),
        other => {
            return Err(value.problem(format!(
                "unknown type \"{other}_array\"; expected string_array, bool_array, int_array or double_array"
            )));
        }
    };
    for item in value.items()? {
        match (scalar(&item, item_kind)?, &mut array) {
            (Some(Value::String(text)), Array::String(items)) => items.push(text),
            (Some(Value::Bool(flag)), Array::Bool(items)) => items.push(flag),
            (Some(Value::I64(number)), Array::I64(items)) => items.push(number),
            (Some(Value::F64(number)), Array::F64(items)) => items.push(number),
            _ => return Err(item.problem("a list item cannot be empty")),
        }
    }
    Ok(Some(Value::Array(array)))
}

/// A YAML 1.2 core schema integer: decimal, `0x` hexadecimal or `0o` octal.
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8).ok();
    }
    text.parse().ok()
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

fn read_tracer_provider(settings: &mut FileSettings, provider: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(
        provider,
        &[
            "processors",
            "limits",
            "sampler",
            "tracer_configurator/development",
        ],
    );
    if let Some(configurator) = provider.field("tracer_configurator/development")? {
        return Err(configurator.problem(
            "per-tracer settings are not supported: spanflow's spans come from one pipeline",
        ));
    }
    let mut exporters = Vec::new();
    let processors = provider
        .field("processors")?
        .ok_or_else(|| provider.problem("processors is required: name at least one exporter"))?;
    for processor in processors.items()? {
        let (kind, body) = processor.single_entry()?;
        if kind != "batch" && kind != "simple" {
            return Err(processor.problem(format!(
                "unknown processor {kind:?}; spanflow's are batch and simple"
            )));
        }
        let exporter = body
            .field("exporter")?
            .ok_or_else(|| body.problem("a processor needs an exporter"))?;
        let (name, options) = exporter.single_entry()?;
        match name {
            "console" => {
                settings.note_unknown(
                    &body,
                    &[
                        "exporter",
                        "schedule_delay",
                        "export_timeout",
                        "max_queue_size",
                        "max_export_batch_size",
                    ],
                );
                exporters.push("console");
            }
            "otlp_http" | "otlp_grpc" => {
                if exporters.contains(&"otlp") {
                    return Err(exporter.problem(
                        "a second OTLP exporter: spanflow sends spans to one OTLP endpoint (a \
                         collector can fan them out); keep one, and console if wanted",
                    ));
                }
                if kind == "simple" {
                    return Err(processor.problem(
                        "spanflow's OTLP export always batches: put the OTLP exporter under batch",
                    ));
                }
                read_batch(settings, &body)?;
                read_otlp(settings, name, &options)?;
                exporters.push("otlp");
            }
            other => {
                return Err(exporter.problem(format!(
                    "spanflow cannot export spans with {other:?}; its exporters are otlp_http, \
                     otlp_grpc and console"
                )));
            }
        }
    }
    settings.set(
        "OTEL_TRACES_EXPORTER",
        exporters.join(","),
        &processors.path,
    );
    if let Some(limits) = provider.field("limits")? {
        read_span_limits(settings, &limits)?;
    }
    if let Some(sampler) = provider.field("sampler")? {
        read_sampler(settings, &sampler)?;
    }
    Ok(())
}

fn read_batch(settings: &mut FileSettings, batch: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(
        batch,
        &[
            "exporter",
            "schedule_delay",
            "export_timeout",
            "max_queue_size",
            "max_export_batch_size",
        ],
    );
    settings.set_from("OTEL_BSP_SCHEDULE_DELAY", batch, "schedule_delay")?;
    settings.set_from("OTEL_BSP_EXPORT_TIMEOUT", batch, "export_timeout")?;
    settings.set_from("OTEL_BSP_MAX_QUEUE_SIZE", batch, "max_queue_size")?;
    settings.set_from(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        batch,
        "max_export_batch_size",
    )
}

/// Characters of a header value that the `OTEL_EXPORTER_OTLP_HEADERS`
/// format needs escaped.
const HEADER_VALUE: &AsciiSet = &CONTROLS.add(b',').add(b'=').add(b'%').add(b' ');

fn read_otlp(settings: &mut FileSettings, name: &str, otlp: &Node<'_>) -> Result<(), Problem> {
    let grpc = name == "otlp_grpc";
    let mut known = vec![
        "endpoint",
        "tls",
        "headers",
        "headers_list",
        "compression",
        "timeout",
    ];
    known.push(if grpc { "insecure" } else { "encoding" });
    settings.note_unknown(otlp, &known);
    let protocol = if grpc {
        "grpc".to_owned()
    } else {
        match otlp.text("encoding")?.as_deref() {
            None | Some("protobuf") => "http/protobuf".to_owned(),
            Some("json") => "http/json".to_owned(),
            Some(other) => {
                return Err(Problem::at(
                    &format!("{}.encoding", otlp.path),
                    format!("unknown encoding {other:?}; expected protobuf or json"),
                ));
            }
        }
    };
    settings.set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol, &otlp.path);
    settings.set_from("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp, "endpoint")?;
    settings.set_from("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", otlp, "compression")?;
    settings.set_from("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", otlp, "timeout")?;
    if let Some(tls) = otlp.field("tls")? {
        let mut known = vec!["ca_file", "key_file", "cert_file"];
        if grpc {
            known.push("insecure");
        }
        settings.note_unknown(&tls, &known);
        settings.set_from("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &tls, "ca_file")?;
        settings.set_from("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &tls, "key_file")?;
        settings.set_from(
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            &tls,
            "cert_file",
        )?;
        if grpc {
            settings.set_from("OTEL_EXPORTER_OTLP_TRACES_INSECURE", &tls, "insecure")?;
        }
    }
    read_headers(settings, otlp)
}

/// `headers` (each `name`/`value`) over `headers_list`, as one
/// `OTEL_EXPORTER_OTLP_TRACES_HEADERS` value.
fn read_headers(settings: &mut FileSettings, otlp: &Node<'_>) -> Result<(), Problem> {
    let mut named = Vec::new();
    let mut path = None;
    if let Some(headers) = otlp.field("headers")? {
        for header in headers.items()? {
            let name = header
                .text("name")?
                .ok_or_else(|| header.problem("a header needs a name"))?;
            if let Some(value) = header.text("value")? {
                named.push((name.trim().to_ascii_lowercase(), value));
            }
        }
        path = Some(headers.path.clone());
    }
    let mut entries: Vec<String> = Vec::new();
    if let Some(field) = otlp.field("headers_list")?
        && let Some(list) = field.scalar()?
    {
        entries.extend(
            list.split(',')
                .filter(|entry| {
                    let key = entry
                        .split('=')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    !named.iter().any(|(name, _)| *name == key)
                })
                .map(str::to_owned),
        );
        path.get_or_insert(field.path.clone());
    }
    entries.extend(
        named
            .iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, HEADER_VALUE))),
    );
    if let Some(path) = path {
        settings.set(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            entries.join(","),
            &path,
        );
    }
    Ok(())
}

fn read_span_limits(settings: &mut FileSettings, limits: &Node<'_>) -> Result<(), Problem> {
    let names = [
        (
            "attribute_value_length_limit",
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        ),
        ("attribute_count_limit", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"),
        ("event_count_limit", "OTEL_SPAN_EVENT_COUNT_LIMIT"),
        ("link_count_limit", "OTEL_SPAN_LINK_COUNT_LIMIT"),
        (
            "event_attribute_count_limit",
            "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
        ),
        (
            "link_attribute_count_limit",
            "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        ),
    ];
    settings.note_unknown(limits, &names.map(|(key, _)| key));
    for (key, variable) in names {
        settings.set_from(variable, limits, key)?;
    }
    Ok(())
}

/// The sampler, as `OTEL_TRACES_SAMPLER` (and `_ARG`) would name it.
fn read_sampler(settings: &mut FileSettings, sampler: &Node<'_>) -> Result<(), Problem> {
    let (name, body) = sampler.single_entry()?;
    let (root_name, root_body, parent_based) = if name == "parent_based" {
        body.unknown_keys(&[
            "root",
            "remote_parent_sampled",
            "remote_parent_not_sampled",
            "local_parent_sampled",
            "local_parent_not_sampled",
        ])
        .first()
        .map_or(Ok(()), |path| {
            Err(Problem::at(path, "not a property of parent_based"))
        })?;
        for (key, default) in [
            ("remote_parent_sampled", "always_on"),
            ("remote_parent_not_sampled", "always_off"),
            ("local_parent_sampled", "always_on"),
            ("local_parent_not_sampled", "always_off"),
        ] {
            if let Some(branch) = body.field(key)?
                && branch.single_entry()?.0 != default
            {
                return Err(branch.problem(format!(
                    "spanflow's parent-based sampler follows the parent's decision; only root can \
                     be chosen ({key} must be {default} or left out)"
                )));
            }
        }
        match body.field("root")? {
            Some(root) => {
                let (root_name, root_body) = root.single_entry()?;
                (root_name, Some(root_body), true)
            }
            None => ("always_on", None, true),
        }
    } else {
        (name, Some(body), false)
    };
    let prefix = if parent_based { "parentbased_" } else { "" };
    let chosen = match root_name {
        "always_on" | "always_off" => root_name,
        "trace_id_ratio_based" => {
            if let Some(body) = &root_body {
                body.unknown_keys(&["ratio"])
                    .first()
                    .map_or(Ok(()), |path| {
                        Err(Problem::at(path, "not a property of trace_id_ratio_based"))
                    })?;
                settings.set_from("OTEL_TRACES_SAMPLER_ARG", body, "ratio")?;
            }
            "traceidratio"
        }
        other => {
            return Err(sampler.problem(format!(
                "spanflow cannot sample with {other:?}; its samplers are always_on, always_off, \
                 trace_id_ratio_based and parent_based with one of them as root"
            )));
        }
    };
    settings.set(
        "OTEL_TRACES_SAMPLER",
        format!("{prefix}{chosen}"),
        &sampler.path,
    );
    Ok(())
}
