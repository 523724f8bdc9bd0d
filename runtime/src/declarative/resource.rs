//! The file's `resource`: its typed attributes, which no variable can
//! carry (`OTEL_RESOURCE_ATTRIBUTES` holds strings), over its
//! `attributes_list`, over what its `service` detector finds.

use opentelemetry::{Array, KeyValue, Value};

use super::node::{Node, Problem};
use super::settings::FileSettings;
use crate::config::key_value_list;
use crate::diagnostics::Level;

/// `resource.attributes` (typed) over `resource.attributes_list` (the
/// `OTEL_RESOURCE_ATTRIBUTES` format) over the detectors'.
pub(super) fn read(
    settings: &mut FileSettings,
    resource: Option<&Node<'_>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Problem> {
    let Some(resource) = resource else {
        return Ok(());
    };
    settings.note_unknown(
        resource,
        &[
            "attributes",
            "attributes_list",
            "schema_url",
            "detection",
            "detection/development",
        ],
    );
    // Stable since file_format 1.1; under its development name before.
    for key in ["detection", "detection/development"] {
        if let Some(detection) = resource.field(key)? {
            read_detection(settings, &detection, env)?;
        }
    }
    if let Some(field) = resource.field("attributes_list")?
        && let Some(list) = field.scalar()?
    {
        for (key, value) in key_value_list(&list).map_err(|reason| field.problem(reason))? {
            settings.resource.push(KeyValue::new(key.to_owned(), value));
        }
    }
    if let Some(attributes) = resource.field("attributes")? {
        for attribute in attributes.items()? {
            attribute.refuse_unknown(&["name", "value", "type"], "a resource attribute")?;
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
    settings.resource_schema_url = resource.text("schema_url")?;
    Ok(())
}

/// The detectors a file names: `service` (`service.name` from
/// `OTEL_SERVICE_NAME`, a `service.instance.id`); `host`, `process` and
/// `container` describe what spanflow reads anyway (`host.name`,
/// `process.pid`, `process.creation.time`, `container.id`, with the
/// deployment's variables of `ResourceEnv`); others are said and not run.
fn read_detection(
    settings: &mut FileSettings,
    detection: &Node<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Problem> {
    settings.note_unknown(detection, &["detectors", "attributes"]);
    if detection.field("attributes")?.is_some() {
        settings.note(
            Level::Info,
            format!(
                "{}.attributes is not read: every detected attribute is kept",
                detection.path
            ),
        );
    }
    let Some(detectors) = detection.field("detectors")? else {
        return Ok(());
    };
    for detector in detectors.items()? {
        let (name, _) = detector.single_entry()?;
        match name {
            "service" => {
                settings
                    .resource
                    .push(KeyValue::new("service.instance.id", random_uuid()));
                if let Some(service) =
                    env("OTEL_SERVICE_NAME").filter(|name| !name.trim().is_empty())
                {
                    settings
                        .resource
                        .push(KeyValue::new("service.name", service));
                }
            }
            "host" | "process" | "container" => {}
            other => settings.note(
                Level::Info,
                format!(
                    "{}: spanflow has no {other:?} detector; it reads the host, the process, \
                     the container and the deployment's variables (ResourceEnv) itself",
                    detector.path
                ),
            ),
        }
    }
    Ok(())
}

/// A random (version 4) UUID, as `service.instance.id` should be.
fn random_uuid() -> String {
    let high = fastrand::u64(..);
    let low = fastrand::u64(..);
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x4000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
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
