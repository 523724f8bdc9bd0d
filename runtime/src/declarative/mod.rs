//! OpenTelemetry declarative configuration: the YAML file `OTEL_CONFIG_FILE`
//! names (or `OTEL_EXPERIMENTAL_CONFIG_FILE`, its name while experimental)
//! configures spanflow in place of the other `OTEL_*` variables, which are
//! then ignored, as the specification asks, unless the file refers to them
//! (`${OTEL_SERVICE_NAME:-checkout}`). Code still wins over the file, as it
//! wins over the environment.
//!
//! The file is read when configuration is first needed (usually at
//! install) and again only if the variable comes to name another file.

mod instrumentation;
mod node;
mod resource;
mod settings;
mod substitution;
mod tracer_provider;

use std::sync::{Arc, Mutex, PoisonError};

use yaml_rust2::{Yaml, YamlLoader};

use self::node::{Node, Problem};
use self::settings::FileSettings;
use crate::config::{CONFIG_FILE, ConfigError, OtlpFileExport};
use crate::diagnostics::{self, Level};

/// The name the variable had while the format was experimental.
const EXPERIMENTAL_CONFIG_FILE: &str = "OTEL_EXPERIMENTAL_CONFIG_FILE";

type Loaded = Result<Arc<FileSettings>, ConfigError>;

/// The file last read: its name and what came of it.
static LOADED: Mutex<Option<(String, Loaded)>> = Mutex::new(None);

/// The configuration file's variable and the file it names, if set.
fn named_file() -> Option<(&'static str, String)> {
    [CONFIG_FILE, EXPERIMENTAL_CONFIG_FILE]
        .into_iter()
        .find_map(|variable| {
            let path = std::env::var(variable).ok()?;
            let path = path.trim();
            (!path.is_empty()).then(|| (variable, path.to_owned()))
        })
}

/// The file's settings, if a file is named: read now unless read already.
pub(crate) fn current() -> Option<Loaded> {
    let (variable, path) = named_file()?;
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((read, settings)) = loaded.as_ref()
        && *read == path
    {
        return Some(settings.clone());
    }
    let settings = load(variable, &path).map(Arc::new);
    *loaded = Some((path, settings.clone()));
    Some(settings)
}

/// What the file gives the variable `name`: `Some` when a file is named
/// and `name` is one it replaces (every `OTEL_*` variable but the file's
/// own), `None` when the environment still decides.
pub(crate) fn var(name: &str) -> Option<Option<String>> {
    if !name.starts_with("OTEL_") || name == CONFIG_FILE || name == EXPERIMENTAL_CONFIG_FILE {
        return None;
    }
    // A file that cannot be read gives nothing; `check` reports it.
    Some(current()?.ok().and_then(|settings| settings.var(name)))
}

/// Fails if a file is named that cannot be read or is not valid.
pub(crate) fn check() -> Result<(), ConfigError> {
    match current() {
        Some(Err(error)) => Err(error),
        _ => Ok(()),
    }
}

/// `error`, if about a variable that a property of the file stood for,
/// told as being about that property (where in which file).
pub(crate) fn in_file_terms(error: ConfigError) -> ConfigError {
    let Some(Ok(settings)) = current() else {
        return error;
    };
    let Some(property) = settings.path_of(error.variable) else {
        return error;
    };
    let file = named_file().map(|(_, path)| path).unwrap_or_default();
    ConfigError::new(
        CONFIG_FILE,
        file,
        format!("{property}: {:?}: {}", error.value, error.reason),
    )
}

/// The file's list of sensitive query keys, when a file is read and
/// gives one.
pub(crate) fn sensitive_query_parameters() -> Option<Vec<String>> {
    current()?.ok()?.sensitive_query_parameters.clone()
}

/// The file's `instrumentation/development.general.http` section, when a
/// file is read and has one.
pub(crate) fn http_instrumentation() -> Option<crate::config::HttpInstrumentation> {
    Some(current()?.ok()?.http.clone())
}

/// The file's `instrumentation/development.general.peer.service_mapping`,
/// when a file is read.
pub(crate) fn peer_service_mapping() -> Option<Vec<crate::config::PeerServiceMapping>> {
    Some(current()?.ok()?.peer_service_mapping.clone())
}

/// The file's `otlp_file/development` exporter, when a file is read.
pub(crate) fn otlp_file() -> Option<OtlpFileExport> {
    current()?.ok()?.otlp_file.clone()
}

/// The resource's attributes the file gives, lowest priority first, and
/// the schema they follow, when a file is read: they replace what the SDK
/// would read from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn resource() -> Option<(Vec<opentelemetry::KeyValue>, Option<String>)> {
    current()?.ok().map(|settings| {
        (
            settings.resource.clone(),
            settings.resource_schema_url.clone(),
        )
    })
}

/// Says, at install, what parts of the file were not read.
pub(crate) fn say_notes() {
    let Some((variable, path)) = named_file() else {
        return;
    };
    let Some(Ok(settings)) = current() else {
        return;
    };
    diagnostics::say(
        Level::Debug,
        format_args!("configuration read from {variable}={path}"),
    );
    for (level, note) in &settings.notes {
        diagnostics::say(*level, format_args!("{path}: {note}"));
    }
}

/// Reads, substitutes and interprets the file.
fn load(variable: &'static str, path: &str) -> Result<FileSettings, ConfigError> {
    let error = |reason: String| ConfigError::new(variable, path, reason);
    let text = std::fs::read_to_string(path)
        .map_err(|failure| error(format!("the configuration file cannot be read: {failure}")))?;
    let mut settings = parse(&text, |name| std::env::var(name).ok()).map_err(error)?;
    if let Some(export) = &mut settings.otlp_file {
        path.clone_into(&mut export.config_file);
    }
    Ok(settings)
}

/// Interprets a file's text, its references resolved by `lookup`.
fn parse(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<FileSettings, String> {
    let mut documents =
        YamlLoader::load_from_str(text).map_err(|failure| format!("not valid YAML: {failure}"))?;
    if documents.len() != 1 {
        return Err(format!(
            "expected one YAML document, found {}",
            documents.len()
        ));
    }
    let mut document = documents.remove(0);
    let in_file = |problem: Problem| {
        if problem.path.is_empty() {
            problem.message
        } else {
            format!("{}: {}", problem.path, problem.message)
        }
    };
    substitute_values(&mut document, "", &lookup).map_err(in_file)?;
    settings::read(&Node::root(&document), &lookup).map_err(in_file)
}

/// Substitutes environment variables in every value (never in keys).
fn substitute_values(
    yaml: &mut Yaml,
    path: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(), Problem> {
    match yaml {
        Yaml::String(text) => {
            *text = substitution::substitute(text, lookup)
                .map_err(|message| Problem::at(path, message))?;
        }
        Yaml::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_values(item, &format!("{path}[{index}]"), lookup)?;
            }
        }
        Yaml::Hash(entries) => {
            for (key, value) in entries.iter_mut() {
                let key = match key {
                    Yaml::String(key) => key.clone(),
                    other => format!("{other:?}"),
                };
                let path = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                substitute_values(value, &path, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
