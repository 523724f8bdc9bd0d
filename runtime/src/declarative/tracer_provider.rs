//! The file's `tracer_provider`: its exporters, batching, span limits and
//! sampler, as the `OTEL_*` variables that set the same things (the OTLP
//! file exporter, which no variable names, apart).

use std::path::PathBuf;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use super::node::{Node, Problem};
use super::settings::FileSettings;
use crate::config::OtlpFileExport;

pub(super) fn read(settings: &mut FileSettings, provider: &Node<'_>) -> Result<(), Problem> {
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
    let processors_list = processors.items()?;
    if processors_list.is_empty() {
        return Err(processors.problem("name at least one exporter"));
    }
    for processor in processors_list {
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
                // The terminal draws each trace as it ends: batch settings
                // have nothing to do there.
                settings.note_unknown(&body, &BATCH_KEYS);
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
            "otlp_file/development" => {
                if settings.otlp_file.is_some() {
                    return Err(exporter.problem(
                        "a second OTLP file exporter: spanflow writes spans to one OTLP file; \
                         keep one",
                    ));
                }
                let batched = kind == "batch";
                if batched {
                    read_batch(settings, &body)?;
                } else {
                    settings.note_unknown(&body, &["exporter"]);
                }
                settings.otlp_file = Some(read_otlp_file(&options, batched)?);
            }
            other => {
                return Err(exporter.problem(format!(
                    "spanflow cannot export spans with {other:?}; its exporters are otlp_http, \
                     otlp_grpc, otlp_file/development and console"
                )));
            }
        }
    }
    // Only an OTLP file: nothing the variable names.
    let named = if exporters.is_empty() {
        "none".to_owned()
    } else {
        exporters.join(",")
    };
    settings.set("OTEL_TRACES_EXPORTER", named, &processors.path);
    if let Some(limits) = provider.field("limits")? {
        read_span_limits(settings, &limits)?;
    }
    if let Some(sampler) = provider.field("sampler")? {
        read_sampler(settings, &sampler)?;
    }
    Ok(())
}

/// The properties of a `batch` (or `simple`) processor.
const BATCH_KEYS: [&str; 5] = [
    "exporter",
    "schedule_delay",
    "export_timeout",
    "max_queue_size",
    "max_export_batch_size",
];

fn read_batch(settings: &mut FileSettings, batch: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(batch, &BATCH_KEYS);
    settings.set_once_from("OTEL_BSP_SCHEDULE_DELAY", batch, "schedule_delay")?;
    settings.set_once_from("OTEL_BSP_EXPORT_TIMEOUT", batch, "export_timeout")?;
    settings.set_once_from("OTEL_BSP_MAX_QUEUE_SIZE", batch, "max_queue_size")?;
    settings.set_once_from(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        batch,
        "max_export_batch_size",
    )
}

/// `otlp_file/development`: `output_stream` is `stdout` (also when left
/// out, as the schema says) or a `file:` URI naming a local file by its
/// absolute path, appended to.
fn read_otlp_file(exporter: &Node<'_>, batched: bool) -> Result<OtlpFileExport, Problem> {
    // An unknown property could say where spans go: refused, not noted.
    exporter.refuse_unknown(&["output_stream"], "otlp_file/development")?;
    let path = match exporter.field("output_stream")? {
        None => None,
        Some(field) => match field.scalar()?.as_deref() {
            None | Some("stdout") => None,
            Some(stream) => Some(
                file_uri_path(stream)
                    .map_err(|reason| field.problem(format!("{stream:?}: {reason}")))?,
            ),
        },
    };
    Ok(OtlpFileExport {
        path,
        batched,
        config_file: String::new(),
        property: exporter.path.clone(),
    })
}

/// The local path a `file:` URI names (`file:///var/log/spans.jsonl`,
/// `file://localhost/…`), percent-escapes decoded.
fn file_uri_path(uri: &str) -> Result<PathBuf, String> {
    let expected =
        "expected stdout or a file URI with an absolute path (file:///var/log/spans.jsonl)";
    let Some(rest) = uri.strip_prefix("file:") else {
        return Err(expected.to_owned());
    };
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let start = authority_and_path
                .find('/')
                .unwrap_or(authority_and_path.len());
            let (host, path) = authority_and_path.split_at(start);
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return Err(format!(
                    "names the host {host:?}; spanflow writes to local files only"
                ));
            }
            path
        }
        None => rest,
    };
    if !path.starts_with('/') || path.contains(['?', '#']) {
        return Err(expected.to_owned());
    }
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| "its percent-escapes are not UTF-8".to_owned())?;
    Ok(PathBuf::from(decoded.as_ref()))
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
        body.refuse_unknown(
            &[
                "root",
                "remote_parent_sampled",
                "remote_parent_not_sampled",
                "local_parent_sampled",
                "local_parent_not_sampled",
            ],
            "parent_based",
        )?;
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
                body.refuse_unknown(&["ratio"], "trace_id_ratio_based")?;
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
