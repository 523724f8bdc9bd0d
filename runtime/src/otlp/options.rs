//! The OTLP exporter's settings from the standard environment variables:
//! headers, timeout, compression (the batch sizes are `crate::batch`'s).

use std::fmt;
use std::time::Duration;

use crate::batch::millis;
use crate::config::{ConfigError, key_value_list, signal_var};
use crate::timeout::timeout_setting;

const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// How OTLP request bodies are compressed (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Sent as they are (`none`, the default): the cheapest for a receiver
    /// on the same host or network.
    #[default]
    None,
    /// `gzip`: several times fewer bytes for more CPU, for a receiver
    /// across a metered or slow link.
    Gzip,
}

/// Request settings given in code ([`OtlpTarget::with_header`](super::OtlpTarget::with_header)
/// and its neighbours); each one given wins over its environment variable.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestOverrides {
    /// Added to the environment's, replacing any of the same name.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
}

/// Header values are left out: they are often credentials.
impl fmt::Debug for RequestOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("RequestOverrides")
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .finish()
    }
}

/// What a header given in code is named in errors.
const HEADER_IN_CODE: &str = "OtlpTarget::with_header";
/// What a valid header is, for errors.
const VALID_HEADER: &str =
    "a name of letters, digits and !#$%&'*+-.^_`|~, a value of visible ASCII characters";

/// How each request is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestOptions {
    /// Extra headers (gRPC metadata), e.g. a vendor's API key.
    pub(crate) headers: Vec<(String, String)>,
    /// How long one export may take, its retries and the waits between
    /// them included (`OTEL_EXPORTER_OTLP_TIMEOUT`, "the maximum time the
    /// OTLP exporter will wait for each batch export"; zero means no
    /// limit).
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
            Some((variable, value)) => timeout_setting(millis(variable, &value)?),
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

    /// These options with the settings given in code in place of the
    /// environment's; a header or timeout that could never be sent is an
    /// error naming the method.
    pub(crate) fn overridden_by(mut self, code: &RequestOverrides) -> Result<Self, ConfigError> {
        for (name, value) in &code.headers {
            let name = name.trim().to_ascii_lowercase();
            // The value stays out of the error: it is often a credential.
            let reason = if !valid_header_name(&name) {
                "not a valid header name: letters, digits and !#$%&'*+-.^_`|~"
            } else if !valid_header_value(value) {
                "its value (not shown) has characters other than visible ASCII"
            } else {
                ""
            };
            if !reason.is_empty() {
                return Err(ConfigError::new(HEADER_IN_CODE, name, reason));
            }
            self.headers.retain(|(existing, _)| *existing != name);
            self.headers.push((name, value.clone()));
        }
        if let Some(timeout) = code.timeout {
            self.timeout = timeout_setting(timeout);
        }
        if let Some(compression) = code.compression {
            self.compression = compression;
        }
        Ok(self)
    }
}

/// Whether a header can be sent as an HTTP header and as gRPC metadata
/// alike: a token for a name, visible ASCII (or tabs) for a value, which
/// is what the `http` crate's `HeaderValue::from_str` accepts. Anything
/// else failed every request at send time.
fn valid_header(name: &str, value: &str) -> bool {
    valid_header_name(name) && valid_header_value(value)
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

fn valid_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|byte| (b' '..=b'~').contains(&byte) || byte == b'\t')
}

/// `key1=value1,key2=value2`, values percent-encoded, as the specification
/// gives them.
fn parse_headers(
    variable: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let entries =
        key_value_list(value).map_err(|reason| ConfigError::new(variable, value, reason))?;
    let mut headers = Vec::with_capacity(entries.len());
    for (key, decoded) in entries {
        if !valid_header(key, &decoded) {
            return Err(ConfigError::new(
                variable,
                value,
                format!("`{key}` is not a valid header: {VALID_HEADER}"),
            ));
        }
        headers.push((key.to_ascii_lowercase(), decoded));
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

    fn from_env_values() -> RequestOptions {
        RequestOptions {
            headers: parse_headers(HEADERS, "x-tenant=blue,api-key=old").unwrap(),
            timeout: Duration::from_secs(10),
            compression: Compression::None,
        }
    }

    #[test]
    fn settings_in_code_win_one_by_one() {
        let code = RequestOverrides {
            headers: vec![
                ("API-Key".into(), "new".into()),
                ("x-region".into(), "eu".into()),
            ],
            timeout: Some(Duration::from_millis(1_500)),
            compression: Some(Compression::Gzip),
        };
        let options = from_env_values().overridden_by(&code).unwrap();
        assert_eq!(
            options.headers,
            vec![
                ("x-tenant".to_owned(), "blue".to_owned()),
                ("api-key".to_owned(), "new".to_owned()),
                ("x-region".to_owned(), "eu".to_owned()),
            ]
        );
        assert_eq!(options.timeout, Duration::from_millis(1_500));
        assert_eq!(options.compression, Compression::Gzip);
        let untouched = from_env_values()
            .overridden_by(&RequestOverrides::default())
            .unwrap();
        assert_eq!(untouched, from_env_values());
    }

    #[test]
    fn headers_in_code_that_cannot_be_sent_name_the_method() {
        let bad_name = RequestOverrides {
            headers: vec![("x tenant".into(), "blue".into())],
            ..RequestOverrides::default()
        };
        let error = from_env_values().overridden_by(&bad_name).unwrap_err();
        assert_eq!(
            (error.variable, error.value.as_str()),
            (HEADER_IN_CODE, "x tenant")
        );
        let bad_value = RequestOverrides {
            headers: vec![("api-key".into(), "secret\n".into())],
            ..RequestOverrides::default()
        };
        let error = from_env_values().overridden_by(&bad_value).unwrap_err();
        assert_eq!(error.value, "api-key");
        assert!(!error.to_string().contains("secret"), "{error}");
        let debug = format!("{:?}", bad_value);
        assert!(
            !debug.contains("secret") && debug.contains("api-key"),
            "{debug}"
        );
    }

    #[test]
    fn a_zero_or_endless_timeout_in_code_means_no_limit() {
        for timeout in [Duration::ZERO, Duration::MAX] {
            let code = RequestOverrides {
                timeout: Some(timeout),
                ..RequestOverrides::default()
            };
            let options = from_env_values().overridden_by(&code).unwrap();
            assert_eq!(options.timeout, crate::timeout::NO_LIMIT, "{timeout:?}");
        }
    }

    #[test]
    fn header_values_http_cannot_send_are_refused_at_install() {
        // Non-ASCII once percent-decoded: every request failed before.
        let error = parse_headers(HEADERS, "x-team=%C3%A9quipe").unwrap_err();
        assert!(error.reason.contains("visible ASCII"), "{error}");
        assert!(
            parse_headers(HEADERS, "x-team=a%09b").is_ok(),
            "a tab is allowed"
        );
    }
}
