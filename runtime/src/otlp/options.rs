//! The OTLP exporter's settings from the standard environment variables:
//! headers, timeout, compression (the batch sizes are `crate::batch`'s).

use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::batch::millis;
use crate::config::{ConfigError, signal_var};

const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
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
    /// How long one export may take, its retries and the waits between
    /// them included (`OTEL_EXPORTER_OTLP_TIMEOUT`, "the maximum time the
    /// OTLP exporter will wait for each batch export").
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
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
}
