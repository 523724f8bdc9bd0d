//! Configuration read from the environment: the standard `OTEL_*` variables
//! and spanflow's `SPANFLOW_EXPORT`, or an OpenTelemetry declarative
//! configuration file named by [`CONFIG_FILE`] in place of the `OTEL_*`
//! variables. Code wins over either. Bad values are errors that name the
//! variable (or the file and the property) and the value; nothing falls
//! back silently.

use std::fmt;
use std::path::PathBuf;

use crate::limits::Limits;
use crate::sampler::Sampler;

mod peer_service;

pub use peer_service::PeerServiceMapping;

/// `OTEL_SDK_DISABLED`: `true` makes [`Pipeline::install`](crate::Pipeline::install)
/// install nothing, so every span costs what it costs with no pipeline.
pub const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// `OTEL_PROPAGATORS`: the propagators installed as OpenTelemetry's global
/// one, `tracecontext,baggage` by default.
pub const PROPAGATORS: &str = "OTEL_PROPAGATORS";
/// `OTEL_TRACES_EXPORTER`: `otlp`, `console` (the terminal tree), both
/// (comma-separated), or `none`; when code configures no export.
pub const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`: attributes kept per span (128).
pub const SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_ATTRIBUTE_COUNT_LIMIT`: the general attribute limit, for spans when
/// [`SPAN_ATTRIBUTE_COUNT_LIMIT`] is unset.
pub const ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_SPAN_EVENT_COUNT_LIMIT`: events kept per span (128).
pub const SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
/// `OTEL_SPAN_LINK_COUNT_LIMIT`: links kept per span (128).
pub const SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
/// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`: attributes kept per span event (128).
pub const EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`: attributes kept per link (128).
pub const LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`: the characters a string
/// attribute value of a span, its events and its links keeps (no limit).
pub const SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: the general value length limit, for
/// spans when [`SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`] is unset.
pub const ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// `OTEL_TRACES_SAMPLER`
pub const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// `OTEL_TRACES_SAMPLER_ARG`
pub const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// `OTEL_LOG_LEVEL`: how much spanflow says about itself on standard
/// error (spans dropped at a full queue: `warn`; spans lost to a failed
/// export or a panicking processor: `error`): `none`, `error`, `warn`,
/// `info` (the default) or `debug`.
pub const LOG_LEVEL: &str = "OTEL_LOG_LEVEL";
/// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`: the HTTP methods spans record
/// as they are, comma-separated and case-sensitive (`GET,POST,PURGE`); any
/// other is `_OTHER`. The list replaces the conventions' ten (`GET`,
/// `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`,
/// `PATCH`, `QUERY`), for clients and servers alike; the HTTP conventions name the
/// variable. A configuration file's `known_methods`, and code, win over it
/// ([`http_instrumentation`]).
pub const HTTP_KNOWN_METHODS: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";
/// `OTEL_CONFIG_FILE`: an OpenTelemetry declarative configuration file
/// (YAML, `file_format: "1.x"`), read in place of every other `OTEL_*`
/// variable, which is then ignored unless the file refers to it
/// (`${OTEL_SERVICE_NAME:-checkout}`). Code still wins over the file.
/// spanflow reads the tracing parts: `disabled`, `log_level`,
/// `attribute_limits`, `resource` (with its `schema_url`; its `service`
/// detector reads `OTEL_SERVICE_NAME`), `propagator` and `tracer_provider`
/// with one OTLP exporter (`otlp_http` or `otlp_grpc`, under `batch`),
/// `otlp_file/development` (OTLP/JSON lines on standard output or appended
/// to a `file:///…` file; needs the `json-file` feature) and/or
/// `console`, span limits, and an `always_on`, `always_off`,
/// `trace_id_ratio_based` or `parent_based` sampler; and from
/// `instrumentation/development`, the sensitive query keys
/// ([`sensitive_query_parameters`]), what HTTP spans capture and call a
/// known method ([`http_instrumentation`]), and the services client spans
/// name by the host they call ([`peer_service_mapping`]). As the schema says,
/// a file without `propagator` propagates nothing. A file asking for
/// what spanflow cannot do is an installation error naming the property;
/// parts that configure other signals are said at install and not read.
/// Needs the `config-file` feature (on by default); without it, a file
/// named here is an installation error.
///
/// `OTEL_EXPERIMENTAL_CONFIG_FILE`, the name of the variable while the
/// format was experimental, is read when this one is unset.
pub const CONFIG_FILE: &str = "OTEL_CONFIG_FILE";
/// `SPANFLOW_EXPORT`: where the embedded default sends finished traces when
/// no exporter is given in code and no OTLP endpoint is set.
pub const SPANFLOW_EXPORT: &str = "SPANFLOW_EXPORT";

/// The query keys whose values instrumentation shows as `REDACTED` in
/// `url.full` and `url.query`, when a configuration file ([`CONFIG_FILE`])
/// lists them under `instrumentation/development.general.sanitization.url
/// .sensitive_query_parameters`: the HTTP conventions' name for a list that
/// replaces their default one (`X-Amz-Signature`, `X-Amz-Credential`,
/// `X-Amz-Security-Token`, `sig`, `X-Goog-Signature`). `None` without a
/// file, without the property, or without the `config-file` feature.
/// spanflow-http reads it on its first request.
///
/// ```
/// // No configuration file is named here.
/// assert_eq!(spanflow::config::sensitive_query_parameters(), None);
/// ```
pub fn sensitive_query_parameters() -> Option<Vec<String>> {
    #[cfg(feature = "config-file")]
    return crate::declarative::sensitive_query_parameters();
    #[cfg(not(feature = "config-file"))]
    None
}

/// What HTTP instrumentation records beyond the conventions' defaults, as
/// [`HTTP_KNOWN_METHODS`] or a configuration file ([`CONFIG_FILE`], which
/// replaces the variable) says under
/// `instrumentation/development.general.http`: the headers whose values
/// spans capture, and the methods they call known, for the requests an
/// application sends (`client`) and serves (`server`). Empty (nothing
/// captured, the conventions' methods) without a file, without the
/// section, or without the `config-file` feature. spanflow-http reads it
/// when its layers are made and on their first request.
///
/// ```
/// // No configuration file is named here.
/// let http = spanflow::config::http_instrumentation();
/// assert!(http.server.request_captured_headers.is_empty());
/// assert_eq!(http.client.known_methods, None);
/// ```
pub fn http_instrumentation() -> HttpInstrumentation {
    #[cfg(feature = "config-file")]
    if let Some(from_file) = crate::declarative::http_instrumentation() {
        return from_file;
    }
    // An invalid list fails the pipeline's install, which says why.
    let known_methods = http_known_methods_from_env().ok().flatten();
    let side = HttpSpanSettings {
        known_methods,
        ..HttpSpanSettings::default()
    };
    HttpInstrumentation {
        client: side.clone(),
        server: side,
    }
}

/// [`HTTP_KNOWN_METHODS`], checked: each method an HTTP token.
pub(crate) fn http_known_methods_from_env() -> Result<Option<Vec<String>>, ConfigError> {
    let Some(value) = var(HTTP_KNOWN_METHODS) else {
        return Ok(None);
    };
    let mut methods = Vec::new();
    for method in value.split(',').map(str::trim) {
        let invalid = |reason: String| ConfigError::new(HTTP_KNOWN_METHODS, value.as_str(), reason);
        if method.is_empty() {
            return Err(invalid(
                "a method is empty: list them separated by commas (GET,POST,PURGE)".to_owned(),
            ));
        }
        if let Some(character) = invalid_token_character(method) {
            return Err(invalid(format!(
                "{method:?} is not a method: {character:?} is not allowed ({TOKEN_CHARACTERS})"
            )));
        }
        methods.push(method.to_owned());
    }
    Ok(Some(methods))
}

/// What an HTTP token (RFC 9110 §5.6.2: a method, a header name) may hold.
pub(crate) const TOKEN_CHARACTERS: &str = "letters, digits and !#$%&'*+-.^_`|~ are";

/// The first character of `token` that an HTTP token cannot hold.
pub(crate) fn invalid_token_character(token: &str) -> Option<char> {
    token.chars().find(|&character| {
        !(character.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(character))
    })
}

/// The services client spans name as `peer.service`, by the host they
/// call, as a configuration file ([`CONFIG_FILE`]) lists them under
/// `instrumentation/development.general.peer.service_mapping` (entries of
/// `peer`, a host name or IP address with an optional `:port`, and
/// `service`). Empty without a file, without the property, or without the
/// `config-file` feature. spanflow-http's clients read it when they are
/// made and on their first request.
///
/// ```
/// // No configuration file is named here.
/// assert!(spanflow::config::peer_service_mapping().is_empty());
/// ```
pub fn peer_service_mapping() -> Vec<PeerServiceMapping> {
    #[cfg(feature = "config-file")]
    return crate::declarative::peer_service_mapping().unwrap_or_default();
    #[cfg(not(feature = "config-file"))]
    Vec::new()
}

/// A configuration file's `instrumentation/development.general.http`
/// section ([`http_instrumentation`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpInstrumentation {
    /// `client`: spans of the requests the application sends.
    pub client: HttpSpanSettings,
    /// `server`: spans of the requests the application serves.
    pub server: HttpSpanSettings,
}

/// What the HTTP spans of one side record, as a configuration file says
/// ([`HttpInstrumentation`]). Header names and methods are checked to be
/// HTTP tokens when the file is read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSpanSettings {
    /// `request_captured_headers`: the request headers recorded as
    /// `http.request.header.<name>` (none when empty).
    pub request_captured_headers: Vec<String>,
    /// `response_captured_headers`: the response headers recorded as
    /// `http.response.header.<name>` (none when empty).
    pub response_captured_headers: Vec<String>,
    /// `known_methods`: the methods recorded as they are (matched
    /// case-sensitively); any other is `_OTHER`. `None` for the
    /// conventions' list (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`,
    /// `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`, `QUERY`); the file's list replaces
    /// it, it does not add to it.
    pub known_methods: Option<Vec<String>>,
}

/// A configuration value spanflow cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (or builder option) holding the value;
    /// [`CONFIG_FILE`] for a configuration file, whose problem `reason`
    /// then places (`tracer_provider.processors[0]…: …`).
    pub variable: &'static str,
    /// The value as given; for a configuration file, the file's path.
    pub value: String,
    /// What is wrong, and what would be right.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(
        variable: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError {
            variable,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// A head sampler and whether it follows the parent's decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SamplerSetting {
    pub(crate) sampler: Sampler,
    pub(crate) parent_based: bool,
}

impl Default for SamplerSetting {
    fn default() -> Self {
        SamplerSetting {
            sampler: Sampler::AlwaysOn,
            parent_based: true,
        }
    }
}

/// Reads a configuration variable: from the configuration file when one is
/// named (`OTEL_*` variables), else from the environment; unset and empty
/// are the same.
pub(crate) fn var(name: &str) -> Option<String> {
    #[cfg(feature = "config-file")]
    if let Some(from_file) = crate::declarative::var(name) {
        return from_file;
    }
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The specific variable's value if set (`..._TRACES_...`, say), else the
/// general one's, with the name of the one read.
pub(crate) fn signal_var(
    specific: &'static str,
    general: &'static str,
) -> Option<(&'static str, String)> {
    var(specific)
        .map(|value| (specific, value))
        .or_else(|| var(general).map(|value| (general, value)))
}

/// Fails if `OTEL_CONFIG_FILE` names a file spanflow cannot use: one that
/// cannot be read or is not valid, or any file when spanflow was built
/// without its `config-file` feature.
pub(crate) fn check_config_file() -> Result<(), ConfigError> {
    #[cfg(feature = "config-file")]
    return crate::declarative::check();
    #[cfg(not(feature = "config-file"))]
    for variable in [CONFIG_FILE, "OTEL_EXPERIMENTAL_CONFIG_FILE"] {
        if let Some(path) = std::env::var(variable)
            .ok()
            .filter(|path| !path.trim().is_empty())
        {
            return Err(ConfigError::new(
                variable,
                path,
                "spanflow was built without its `config-file` feature, so it cannot read the file",
            ));
        }
    }
    #[cfg(not(feature = "config-file"))]
    Ok(())
}

/// `key1=value1,key2=value2` with percent-encoded values, the format of
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`: each
/// entry's trimmed key and decoded value, or what is wrong.
#[cfg(any(feature = "otlp", feature = "config-file"))]
pub(crate) fn key_value_list(list: &str) -> Result<Vec<(&str, String)>, String> {
    let mut entries = Vec::new();
    for entry in list.split(',').filter(|entry| !entry.trim().is_empty()) {
        let (key, encoded) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{}` is not key=value", entry.trim()))?;
        let key = key.trim();
        let value = percent_encoding::percent_decode_str(encoded.trim())
            .decode_utf8()
            .map_err(|_| format!("the value of `{key}` is not UTF-8"))?;
        entries.push((key, value.into_owned()));
    }
    Ok(entries)
}

/// Runs `read`, a public reading of configuration: first fails if
/// `OTEL_CONFIG_FILE` names a file spanflow cannot use, and tells an error
/// about a value the file gave in the file's terms.
pub(crate) fn reading<T>(read: impl FnOnce() -> Result<T, ConfigError>) -> Result<T, ConfigError> {
    check_config_file()?;
    read().map_err(in_file_terms)
}

/// `error`, told in the configuration file's terms when a property of the
/// file gave the value.
pub(crate) fn in_file_terms(error: ConfigError) -> ConfigError {
    #[cfg(feature = "config-file")]
    return crate::declarative::in_file_terms(error);
    #[cfg(not(feature = "config-file"))]
    error
}

/// A boolean variable: `true` or `false` in any case; `when_true` says what
/// `true` does, for the error.
pub(crate) fn parse_bool(
    variable: &'static str,
    value: &str,
    when_true: &str,
) -> Result<bool, ConfigError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ConfigError::new(
            variable,
            other,
            format!("expected true ({when_true}) or false"),
        )),
    }
}

/// Whether `OTEL_SDK_DISABLED` turns tracing off (unset or empty: no).
pub(crate) fn sdk_disabled_from_env() -> Result<bool, ConfigError> {
    var(SDK_DISABLED).map_or(Ok(false), |value| {
        parse_bool(SDK_DISABLED, &value, "record and export nothing")
    })
}

/// The span limits the environment sets, the specification's defaults
/// (128 attributes, events and links per span; values of any length) for
/// the others.
pub(crate) fn limits_from_env() -> Result<Limits, ConfigError> {
    let counts = span_count_limits_from_env()?;
    let value_length = signal_var(
        SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        ATTRIBUTE_VALUE_LENGTH_LIMIT,
    )
    .map(|(variable, value)| parse_length(variable, &value))
    .transpose()?;
    Ok(Limits {
        counts,
        value_length,
    })
}

fn span_count_limits_from_env() -> Result<opentelemetry_sdk::trace::SpanLimits, ConfigError> {
    let mut limits = opentelemetry_sdk::trace::SpanLimits::default();
    if let Some((variable, value)) = signal_var(SPAN_ATTRIBUTE_COUNT_LIMIT, ATTRIBUTE_COUNT_LIMIT) {
        limits.max_attributes_per_span = parse_count(variable, &value)?;
    }
    if let Some(value) = var(SPAN_EVENT_COUNT_LIMIT) {
        limits.max_events_per_span = parse_count(SPAN_EVENT_COUNT_LIMIT, &value)?;
    }
    if let Some(value) = var(SPAN_LINK_COUNT_LIMIT) {
        limits.max_links_per_span = parse_count(SPAN_LINK_COUNT_LIMIT, &value)?;
    }
    if let Some(value) = var(EVENT_ATTRIBUTE_COUNT_LIMIT) {
        limits.max_attributes_per_event = parse_count(EVENT_ATTRIBUTE_COUNT_LIMIT, &value)?;
    }
    if let Some(value) = var(LINK_ATTRIBUTE_COUNT_LIMIT) {
        limits.max_attributes_per_link = parse_count(LINK_ATTRIBUTE_COUNT_LIMIT, &value)?;
    }
    Ok(limits)
}

fn parse_count(variable: &'static str, value: &str) -> Result<u32, ConfigError> {
    parse_whole(variable, value, "(0 keeps none; the default is 128)")
}

fn parse_length(variable: &'static str, value: &str) -> Result<usize, ConfigError> {
    parse_whole(variable, value, "of characters (unset keeps values whole)")
}

pub(crate) fn parse_whole<T: std::str::FromStr>(
    variable: &'static str,
    value: &str,
    meaning: &str,
) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(
            variable,
            value,
            format!("expected a whole number {meaning}"),
        )
    })
}

/// The exports `OTEL_TRACES_EXPORTER` names (or a configuration file's
/// exporters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExporterChoice {
    /// `otlp`: to the endpoint `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` names,
    /// or the specification's default on localhost.
    pub(crate) otlp: bool,
    /// `console`: each trace drawn as a tree on standard output.
    pub(crate) console: bool,
    /// A configuration file's `otlp_file/development` (no variable names
    /// one).
    pub(crate) otlp_file: Option<OtlpFileExport>,
}

/// OTLP/JSON lines to a file or to standard output: a configuration
/// file's `otlp_file/development` exporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OtlpFileExport {
    /// The file appended to; `None` for standard output.
    pub(crate) path: Option<PathBuf>,
    /// Under a `batch` processor (else `simple`).
    pub(crate) batched: bool,
    /// The configuration file, and where in it the exporter is, for errors.
    pub(crate) config_file: String,
    pub(crate) property: String,
}

impl OtlpFileExport {
    /// An error about this exporter, in the file's terms.
    pub(crate) fn error(&self, reason: impl fmt::Display) -> ConfigError {
        ConfigError::new(
            CONFIG_FILE,
            self.config_file.as_str(),
            format!("{}: {reason}", self.property),
        )
    }
}

/// `OTEL_TRACES_EXPORTER`, if set.
pub(crate) fn traces_exporter_from_env() -> Result<Option<ExporterChoice>, ConfigError> {
    let Some(value) = var(TRACES_EXPORTER) else {
        return Ok(None);
    };
    let choice = parse_traces_exporter(&value)?;
    #[cfg(feature = "config-file")]
    let choice = ExporterChoice {
        otlp_file: crate::declarative::otlp_file(),
        ..choice
    };
    Ok(Some(choice))
}

fn parse_traces_exporter(value: &str) -> Result<ExporterChoice, ConfigError> {
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    let mut choice = ExporterChoice::default();
    if names == ["none"] {
        return Ok(choice);
    }
    for name in names {
        match name {
            "otlp" => choice.otlp = true,
            "console" => choice.console = true,
            "none" => {
                return Err(ConfigError::new(
                    TRACES_EXPORTER,
                    value,
                    "`none` cannot be combined with other exporters",
                ));
            }
            _ => {
                return Err(ConfigError::new(
                    TRACES_EXPORTER,
                    value,
                    format!(
                        "spanflow has no `{name}` exporter; expected otlp, console (both, \
                         comma-separated) or none; other exporters can be given in code \
                         (Pipeline::with_batch_exporter)"
                    ),
                ));
            }
        }
    }
    Ok(choice)
}

/// A propagator `OTEL_PROPAGATORS` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PropagatorName {
    /// W3C Trace Context (`traceparent`, `tracestate`).
    TraceContext,
    /// W3C Baggage.
    Baggage,
    /// Zipkin B3, written as the single `b3` header.
    #[cfg(feature = "b3")]
    B3Single,
    /// Zipkin B3, written as the `x-b3-*` headers.
    #[cfg(feature = "b3")]
    B3Multi,
}

/// The propagators `OTEL_PROPAGATORS` names, in order and without
/// repeats; W3C Trace Context and Baggage when it is unset, none for
/// `none`.
pub(crate) fn propagators_from_env() -> Result<Vec<PropagatorName>, ConfigError> {
    parse_propagators(var(PROPAGATORS).as_deref())
}

fn parse_propagators(value: Option<&str>) -> Result<Vec<PropagatorName>, ConfigError> {
    let Some(value) = value else {
        return Ok(vec![PropagatorName::TraceContext, PropagatorName::Baggage]);
    };
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    if names == ["none"] {
        return Ok(Vec::new());
    }
    let mut propagators = Vec::new();
    for name in names {
        let propagator = match name {
            "tracecontext" => PropagatorName::TraceContext,
            "baggage" => PropagatorName::Baggage,
            "none" => {
                return Err(ConfigError::new(
                    PROPAGATORS,
                    value,
                    "`none` cannot be combined with other propagators",
                ));
            }
            #[cfg(feature = "b3")]
            "b3" => PropagatorName::B3Single,
            #[cfg(feature = "b3")]
            "b3multi" => PropagatorName::B3Multi,
            #[cfg(not(feature = "b3"))]
            "b3" | "b3multi" => {
                return Err(ConfigError::new(
                    PROPAGATORS,
                    value,
                    format!(
                        "`{name}` needs spanflow's `b3` feature \
                         (spanflow = {{ features = [\"b3\"] }}), or leave it out"
                    ),
                ));
            }
            "jaeger" | "xray" | "ottrace" => {
                return Err(ConfigError::new(
                    PROPAGATORS,
                    value,
                    format!(
                        "spanflow has no `{name}` propagator; leave it out here and install \
                         one with opentelemetry::global::set_text_map_propagator after the \
                         pipeline"
                    ),
                ));
            }
            _ => {
                return Err(ConfigError::new(
                    PROPAGATORS,
                    value,
                    format!(
                        "unknown propagator `{name}`; expected a comma-separated list of \
                         tracecontext, baggage, b3 and b3multi, or none"
                    ),
                ));
            }
        };
        if !propagators.contains(&propagator) {
            propagators.push(propagator);
        }
    }
    Ok(propagators)
}

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, if set.
pub(crate) fn sampler_from_env() -> Result<Option<SamplerSetting>, ConfigError> {
    parse_sampler(
        var(TRACES_SAMPLER).as_deref(),
        var(TRACES_SAMPLER_ARG).as_deref(),
    )
}

pub(crate) fn parse_sampler(
    name: Option<&str>,
    arg: Option<&str>,
) -> Result<Option<SamplerSetting>, ConfigError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let ratio = || -> Result<f64, ConfigError> {
        let Some(arg) = arg else {
            return Ok(1.0);
        };
        let ratio: f64 = arg.trim().parse().map_err(|_| {
            ConfigError::new(
                TRACES_SAMPLER_ARG,
                arg,
                "expected a sampling ratio, a number from 0 to 1",
            )
        })?;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(ConfigError::new(
                TRACES_SAMPLER_ARG,
                arg,
                "the sampling ratio must be from 0 to 1",
            ));
        }
        Ok(ratio)
    };
    let (sampler, parent_based) = match name.trim() {
        "always_on" => (Sampler::AlwaysOn, false),
        "always_off" => (Sampler::AlwaysOff, false),
        "traceidratio" => (Sampler::Ratio(ratio()?), false),
        "parentbased_always_on" => (Sampler::AlwaysOn, true),
        "parentbased_always_off" => (Sampler::AlwaysOff, true),
        "parentbased_traceidratio" => (Sampler::Ratio(ratio()?), true),
        other => {
            return Err(ConfigError::new(
                TRACES_SAMPLER,
                other,
                "unknown or unsupported sampler; expected one of always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
            ));
        }
    };
    Ok(Some(SamplerSetting {
        sampler,
        parent_based,
    }))
}

/// Where the embedded default sends finished traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbeddedExport {
    /// Each trace drawn as a tree on standard output (the default).
    Terminal,
    /// Each trace drawn as a tree on standard error.
    Stderr,
    /// OTLP/JSON lines appended to a file (`json:PATH`).
    JsonFile(PathBuf),
    /// Only the in-process store ([`PipelineGuard::store`](crate::PipelineGuard::store)).
    Memory,
    /// Nowhere: spans are recorded and dropped.
    None,
}

impl EmbeddedExport {
    /// Parses a `SPANFLOW_EXPORT` value: `terminal`, `stderr`,
    /// `json:PATH`, `memory` or `none`.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        match value {
            "terminal" | "stdout" => Ok(EmbeddedExport::Terminal),
            "stderr" => Ok(EmbeddedExport::Stderr),
            "memory" => Ok(EmbeddedExport::Memory),
            "none" => Ok(EmbeddedExport::None),
            _ => match value.strip_prefix("json:") {
                Some(path) if !path.trim().is_empty() => {
                    Ok(EmbeddedExport::JsonFile(PathBuf::from(path.trim())))
                }
                _ => Err(ConfigError::new(
                    SPANFLOW_EXPORT,
                    value,
                    "expected terminal, stderr, json:PATH, memory or none",
                )),
            },
        }
    }

    pub(crate) fn from_env() -> Result<Option<Self>, ConfigError> {
        var(SPANFLOW_EXPORT)
            .map(|value| EmbeddedExport::parse(&value))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(parse_count(SPAN_EVENT_COUNT_LIMIT, " 16 "), Ok(16));
        assert_eq!(parse_count(SPAN_EVENT_COUNT_LIMIT, "0"), Ok(0));
        assert_eq!(
            parse_length(ATTRIBUTE_VALUE_LENGTH_LIMIT, " 4096 "),
            Ok(4096)
        );
        assert!(parse_length(ATTRIBUTE_VALUE_LENGTH_LIMIT, "-1").is_err());
        for bad in ["-1", "1.5", "many"] {
            let error = parse_count(SPAN_LINK_COUNT_LIMIT, bad).unwrap_err();
            assert_eq!(
                (error.variable, error.value.as_str()),
                (SPAN_LINK_COUNT_LIMIT, bad)
            );
        }
    }

    #[test]
    fn traces_exporters_from_the_specifications_names() {
        let choice = |otlp, console| ExporterChoice {
            otlp,
            console,
            otlp_file: None,
        };
        assert_eq!(parse_traces_exporter("otlp"), Ok(choice(true, false)));
        assert_eq!(parse_traces_exporter("console"), Ok(choice(false, true)));
        assert_eq!(
            parse_traces_exporter("console, otlp,otlp"),
            Ok(choice(true, true))
        );
        assert_eq!(parse_traces_exporter("none"), Ok(choice(false, false)));
        for (value, reason) in [
            ("otlp,none", "cannot be combined"),
            ("zipkin", "no `zipkin` exporter"),
            ("otlp,", "no `` exporter"),
        ] {
            let error = parse_traces_exporter(value).unwrap_err();
            assert_eq!(
                (error.variable, error.value.as_str()),
                (TRACES_EXPORTER, value)
            );
            assert!(error.reason.contains(reason), "{value}: {error}");
        }
    }

    #[test]
    fn propagators_from_the_specifications_names() {
        use PropagatorName::{Baggage, TraceContext};
        assert_eq!(parse_propagators(None), Ok(vec![TraceContext, Baggage]));
        assert_eq!(
            parse_propagators(Some("baggage, tracecontext,baggage")),
            Ok(vec![Baggage, TraceContext])
        );
        assert_eq!(parse_propagators(Some("none")), Ok(Vec::new()));
        for (value, reason) in [
            ("tracecontext,none", "cannot be combined"),
            ("tracecontext,jaeger", "no `jaeger` propagator"),
            ("w3c", "unknown propagator `w3c`"),
            ("tracecontext,", "unknown propagator ``"),
        ] {
            let error = parse_propagators(Some(value)).unwrap_err();
            assert_eq!((error.variable, error.value.as_str()), (PROPAGATORS, value));
            assert!(error.reason.contains(reason), "{value}: {error}");
            assert!(!error.reason.contains("  "), "one line: {error}");
        }
    }

    #[cfg(feature = "b3")]
    #[test]
    fn b3_and_b3multi_with_the_feature() {
        use PropagatorName::{B3Multi, B3Single, TraceContext};
        assert_eq!(
            parse_propagators(Some("tracecontext,b3,b3multi")),
            Ok(vec![TraceContext, B3Single, B3Multi])
        );
    }

    #[cfg(not(feature = "b3"))]
    #[test]
    fn b3_without_the_feature_says_which_feature() {
        let error = parse_propagators(Some("tracecontext,b3multi")).unwrap_err();
        assert!(error.reason.contains("`b3` feature"), "{error}");
    }

    #[test]
    fn booleans_are_true_or_false_and_nothing_else() {
        let parse = |value| parse_bool(SDK_DISABLED, value, "off");
        assert_eq!(parse("TRUE"), Ok(true));
        assert_eq!(parse(" true "), Ok(true));
        assert_eq!(parse("False"), Ok(false));
        let error = parse("1").unwrap_err();
        assert_eq!((error.variable, error.value.as_str()), (SDK_DISABLED, "1"));
        assert!(error.reason.contains("true (off)"), "{error}");
    }

    #[test]
    fn samplers_from_the_specifications_names() {
        let setting = |name, arg| {
            parse_sampler(Some(name), arg).map(|s| s.map(|s| (s.sampler, s.parent_based)))
        };
        assert_eq!(
            setting("always_on", None),
            Ok(Some((Sampler::AlwaysOn, false)))
        );
        assert_eq!(
            setting("parentbased_always_off", None),
            Ok(Some((Sampler::AlwaysOff, true)))
        );
        assert_eq!(
            setting("traceidratio", Some("0.25")),
            Ok(Some((Sampler::Ratio(0.25), false)))
        );
        assert_eq!(
            setting("parentbased_traceidratio", None),
            Ok(Some((Sampler::Ratio(1.0), true)))
        );
        assert_eq!(parse_sampler(None, Some("0.5")), Ok(None));
    }

    #[test]
    fn bad_samplers_name_the_variable_and_value() {
        let error = parse_sampler(Some("sometimes"), None).unwrap_err();
        assert_eq!(error.variable, TRACES_SAMPLER);
        assert!(
            error
                .to_string()
                .starts_with("OTEL_TRACES_SAMPLER=\"sometimes\": unknown")
        );
        let error = parse_sampler(Some("traceidratio"), Some("1.5")).unwrap_err();
        assert_eq!(
            (error.variable, error.value.as_str()),
            (TRACES_SAMPLER_ARG, "1.5")
        );
        let error = parse_sampler(Some("traceidratio"), Some("half")).unwrap_err();
        assert_eq!(error.variable, TRACES_SAMPLER_ARG);
    }

    #[test]
    fn embedded_export_values() {
        assert_eq!(
            EmbeddedExport::parse("terminal"),
            Ok(EmbeddedExport::Terminal)
        );
        assert_eq!(
            EmbeddedExport::parse(" json:traces.jsonl "),
            Ok(EmbeddedExport::JsonFile("traces.jsonl".into()))
        );
        assert_eq!(EmbeddedExport::parse("memory"), Ok(EmbeddedExport::Memory));
        let error = EmbeddedExport::parse("json:").unwrap_err();
        assert_eq!(error.variable, SPANFLOW_EXPORT);
        assert!(EmbeddedExport::parse("jaeger").is_err());
    }
}
