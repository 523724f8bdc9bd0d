//! The file's `instrumentation/development` section, of which spanflow
//! reads what its adapters use: the query keys whose values URLs show
//! redacted (`general.sanitization.url.sensitive_query_parameters`, the
//! name the HTTP conventions give for overriding their list), what HTTP
//! spans capture and call a known method (`general.http.client` and
//! `general.http.server`), and the services client spans name by the
//! host they call (`general.peer.service_mapping`).

use super::node::{Node, Problem};
use super::settings::FileSettings;
use crate::config::{
    HttpSpanSettings, PeerServiceMapping, TOKEN_CHARACTERS, invalid_token_character,
};
use crate::diagnostics::Level;

pub(super) fn read(settings: &mut FileSettings, section: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(section, &["general"]);
    let Some(general) = section.field("general")? else {
        return Ok(());
    };
    settings.note_unknown(&general, &["sanitization", "http", "peer"]);
    if let Some(sanitization) = general.field("sanitization")? {
        read_sanitization(settings, &sanitization)?;
    }
    if let Some(peer) = general.field("peer")? {
        settings.note_unknown(&peer, &["service_mapping"]);
        if let Some(mapping) = peer.field("service_mapping")? {
            settings.peer_service_mapping = read_service_mapping(settings, &mapping)?;
        }
    }
    if let Some(http) = general.field("http")? {
        settings.note_unknown(&http, &["client", "server"]);
        if let Some(client) = http.field("client")? {
            settings.http.client = read_http_side(settings, &client)?;
        }
        if let Some(server) = http.field("server")? {
            settings.http.server = read_http_side(settings, &server)?;
        }
    }
    Ok(())
}

fn read_sanitization(settings: &mut FileSettings, sanitization: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(sanitization, &["url"]);
    let Some(url) = sanitization.field("url")? else {
        return Ok(());
    };
    settings.note_unknown(&url, &["sensitive_query_parameters"]);
    if let Some(keys) = url.field("sensitive_query_parameters")? {
        let mut listed = Vec::new();
        for key in keys.items()? {
            match key.scalar()? {
                Some(key) => listed.push(key),
                None => return Err(key.problem("a query key cannot be empty")),
            }
        }
        if listed.is_empty() {
            settings.note(
                Level::Info,
                format!("{}: empty: no query value is redacted", keys.path),
            );
        }
        settings.sensitive_query_parameters = Some(listed);
    }
    Ok(())
}

/// `general.peer.service_mapping`: a list of `peer` and `service` pairs,
/// each peer listed once.
fn read_service_mapping(
    settings: &mut FileSettings,
    mapping: &Node<'_>,
) -> Result<Vec<PeerServiceMapping>, Problem> {
    let mut read: Vec<(PeerServiceMapping, String)> = Vec::new();
    for entry in mapping.items()? {
        settings.note_unknown(&entry, &["peer", "service"]);
        let required = |key: &str| {
            entry.text(key)?.ok_or_else(|| {
                entry.problem(format!(
                    "{key} is missing: each entry names a peer (a host or IP address, \
                     with an optional :port) and the service there"
                ))
            })
        };
        let (peer, service) = (required("peer")?, required("service")?);
        let parsed = PeerServiceMapping::new(&peer, &service)
            .map_err(|error| entry.problem(format!("{:?}: {}", error.value, error.reason)))?;
        if let Some((_, earlier)) = read.iter().find(|(listed, _)| {
            (listed.host.as_str(), listed.port) == (parsed.host.as_str(), parsed.port)
        }) {
            return Err(entry.problem(format!("peer {peer:?} is listed already, at {earlier}")));
        }
        read.push((parsed, entry.path));
    }
    Ok(read.into_iter().map(|(parsed, _)| parsed).collect())
}

/// `general.http.client` or `general.http.server`.
fn read_http_side(
    settings: &mut FileSettings,
    side: &Node<'_>,
) -> Result<HttpSpanSettings, Problem> {
    settings.note_unknown(
        side,
        &[
            "request_captured_headers",
            "response_captured_headers",
            "known_methods",
        ],
    );
    let mut read = HttpSpanSettings::default();
    if let Some(names) = side.field("request_captured_headers")? {
        read.request_captured_headers = tokens(&names, "a header name")?;
    }
    if let Some(names) = side.field("response_captured_headers")? {
        read.response_captured_headers = tokens(&names, "a header name")?;
    }
    if let Some(methods) = side.field("known_methods")? {
        let known = tokens(&methods, "a method")?;
        if known.is_empty() {
            settings.note(
                Level::Info,
                format!(
                    "{}: empty: every method is recorded as _OTHER",
                    methods.path
                ),
            );
        }
        read.known_methods = Some(known);
    }
    Ok(read)
}

/// A list of HTTP tokens (RFC 9110 §5.6.2), as header names and methods
/// are: an invalid one is an error here, where the file can say which.
fn tokens(list: &Node<'_>, what: &str) -> Result<Vec<String>, Problem> {
    let mut listed = Vec::new();
    for item in list.items()? {
        let Some(token) = item.scalar()? else {
            return Err(item.problem(format!("{what} cannot be empty")));
        };
        if let Some(invalid) = invalid_token_character(&token) {
            return Err(item.problem(format!(
                "{token:?} is not {what}: {invalid:?} is not allowed ({TOKEN_CHARACTERS})"
            )));
        }
        listed.push(token);
    }
    Ok(listed)
}
