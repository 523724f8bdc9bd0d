//! The OTLP exporter's and batch processor's settings from the standard
//! environment variables: headers, timeout, compression, batch sizes.

use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::config::{ConfigError, parse_whole, signal_var, var};

const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
const SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
const MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// Read by the SDK's batch processor (the JSON protocol, the JSON file);
/// spanflow's OTLP processor sends one request at a time.
const MAX_CONCURRENT_EXPORTS: &str = "OTEL_BSP_MAX_CONCURRENT_EXPORTS";

/// How request bodies are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Compression {
    #[default]
    None,
    Gzip,
}

/// How each request is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestOptions {
    /// Extra headers (gRPC metadata), e.g. a vendor's API key.
    pub(crate) headers: Vec<(String, String)>,
    /// How long one request may take.
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
}

/// How spans are batched (the `OTEL_BSP_*` variables, with the
/// specification's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchOptions {
    /// The longest a span waits for its batch to fill.
    pub(crate) schedule_delay: Duration,
    /// The longest a flush waits for the exports it started.
    pub(crate) export_timeout: Duration,
    /// Spans waiting for the sender, at most; more are dropped (counted).
    pub(crate) max_queue_size: usize,
    /// Spans per request, at most.
    pub(crate) max_export_batch_size: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            schedule_delay: Duration::from_millis(5_000),
            export_timeout: Duration::from_millis(30_000),
            max_queue_size: 2_048,
            max_export_batch_size: 512,
        }
    }
}

impl RequestOptions {
    /// The trace-specific variable wins over the general one, as the
    /// specification says.
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        let headers = match signal_var(TRACES_HEADERS, HEADERS) {
            Some((variable, value)) => parse_headers(variable, &value)?,
            None => Vec::new(),
        };
        let timeout = match signal_var(TRACES_TIMEOUT, TIMEOUT) {
            Some((variable, value)) => millis(variable, &value)?,
            None => Duration::from_secs(10),
        };
        let compression = match signal_var(TRACES_COMPRESSION, COMPRESSION) {
            Some((variable, value)) => match value.trim() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                other => {
                    return Err(ConfigError::new(
                        variable,
                        other,
                        "unknown compression; expected gzip or none",
                    ));
                }
            },
            None => Compression::None,
        };
        Ok(RequestOptions {
            headers,
            timeout,
            compression,
        })
    }
}

impl BatchOptions {
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        let mut options = BatchOptions::default();
        if let Some(value) = var(SCHEDULE_DELAY) {
            options.schedule_delay = millis(SCHEDULE_DELAY, &value)?;
        }
        if let Some(value) = var(EXPORT_TIMEOUT) {
            options.export_timeout = millis(EXPORT_TIMEOUT, &value)?;
        }
        if let Some(value) = var(MAX_QUEUE_SIZE) {
            options.max_queue_size = count(MAX_QUEUE_SIZE, &value)?;
        }
        if let Some(value) = var(MAX_EXPORT_BATCH_SIZE) {
            options.max_export_batch_size = count(MAX_EXPORT_BATCH_SIZE, &value)?;
        }
        if let Some(value) = var(MAX_CONCURRENT_EXPORTS) {
            count(MAX_CONCURRENT_EXPORTS, &value)?;
        }
        // As the specification says: a batch never exceeds the queue.
        options.max_export_batch_size = options.max_export_batch_size.min(options.max_queue_size);
        Ok(options)
    }
}

fn millis(variable: &'static str, value: &str) -> Result<Duration, ConfigError> {
    parse_whole(variable, value, "of milliseconds").map(Duration::from_millis)
}

fn count(variable: &'static str, value: &str) -> Result<usize, ConfigError> {
    parse_whole(variable, value, "above zero").map(std::num::NonZeroUsize::get)
}

/// `key1=value1,key2=value2`, values percent-encoded, as the specification
/// gives them.
fn parse_headers(
    variable: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut headers = Vec::new();
    for entry in value.split(',').filter(|entry| !entry.trim().is_empty()) {
        let Some((key, encoded)) = entry.split_once('=') else {
            return Err(ConfigError::new(
                variable,
                value,
                format!("`{}` is not key=value", entry.trim()),
            ));
        };
        let key = key.trim();
        let decoded = percent_decode_str(encoded.trim())
            .decode_utf8()
            .map_err(|_| {
                ConfigError::new(
                    variable,
                    value,
                    format!("the value of `{key}` is not UTF-8"),
                )
            })?;
        let valid_key = !key.is_empty()
            && key
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
        if !valid_key || decoded.chars().any(|c| c.is_control()) {
            return Err(ConfigError::new(
                variable,
                value,
                format!("`{}` is not a valid header", entry.trim()),
            ));
        }
        headers.push((key.to_ascii_lowercase(), decoded.into_owned()));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_split_trimmed_and_percent_decoded() {
        let headers = parse_headers(HEADERS, "Api-Key=abc%3D%3D, x-tenant = blue team ,").unwrap();
        assert_eq!(
            headers,
            vec![
                ("api-key".to_owned(), "abc==".to_owned()),
                ("x-tenant".to_owned(), "blue team".to_owned()),
            ]
        );
    }

    #[test]
    fn bad_headers_name_the_variable_and_the_entry() {
        let error = parse_headers(TRACES_HEADERS, "a=1,oops").unwrap_err();
        assert_eq!(error.variable, TRACES_HEADERS);
        assert!(error.reason.contains("`oops`"), "{error}");
        let error = parse_headers(HEADERS, "bad key=1").unwrap_err();
        assert!(error.reason.contains("not a valid header"), "{error}");
        let error = parse_headers(HEADERS, "k=%0A").unwrap_err();
        assert!(error.reason.contains("not a valid header"), "{error}");
    }

    #[test]
    fn numbers_must_be_whole_and_counts_above_zero() {
        assert_eq!(
            millis(TIMEOUT, " 250 ").unwrap(),
            Duration::from_millis(250)
        );
        assert!(millis(TIMEOUT, "1.5s").is_err());
        assert!(count(MAX_QUEUE_SIZE, "0").is_err());
        assert_eq!(count(MAX_QUEUE_SIZE, "64").unwrap(), 64);
    }
}
