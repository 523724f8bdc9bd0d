//! The names of the services an application calls, by the host (and port)
//! it calls them at: the `peer.service` of client spans.

use std::net::Ipv6Addr;

use super::ConfigError;

/// One entry of a peer service mapping: requests to `host` (on `port`,
/// when given) are calls to the service named `service`, which client
/// spans record as `peer.service`. Backends draw a called service that
/// sends no traces of its own (a payment provider, a managed database) as
/// a node of their service graphs from that attribute.
///
/// Read from a configuration file's
/// `instrumentation/development.general.peer.service_mapping`
/// ([`peer_service_mapping`](super::peer_service_mapping)), or made in code
/// with [`new`](Self::new).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerServiceMapping {
    /// The host name (lower-cased) or IP address (an IPv6 one without
    /// brackets) requests are sent to.
    pub host: String,
    /// The port requests are sent to; `None` for any port. An entry with a
    /// port wins over one without for the same host.
    pub port: Option<u16>,
    /// The name of the service at that host (its `service.name`, if it
    /// sends traces).
    pub service: String,
}

impl PeerServiceMapping {
    /// An entry mapping `peer` to `service`. `peer` is a host name or an
    /// IP address, as clients address it, optionally with `:port`
    /// (`payments.internal`, `10.0.4.7:8443`, `::1`, `[::1]:50051`).
    ///
    /// ```
    /// use spanflow::config::PeerServiceMapping;
    ///
    /// let stripe = PeerServiceMapping::new("API.Stripe.com", "stripe")?;
    /// assert_eq!((stripe.host.as_str(), stripe.port), ("api.stripe.com", None));
    /// let local = PeerServiceMapping::new("[::1]:50051", "inventory")?;
    /// assert_eq!((local.host.as_str(), local.port), ("::1", Some(50051)));
    /// assert!(PeerServiceMapping::new("payments/v1", "payments").is_err());
    /// # Ok::<(), spanflow::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `peer` is not a host with an optional port (a path, a scheme,
    /// a port that is not a number from 1 to 65535), or either is empty.
    pub fn new(peer: &str, service: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::new("PeerServiceMapping::new", peer, reason);
        let (host, port) = host_and_port(peer.trim()).map_err(invalid)?;
        let service = service.trim();
        if service.is_empty() {
            return Err(ConfigError::new(
                "PeerServiceMapping::new",
                service,
                "a service name cannot be empty",
            ));
        }
        Ok(PeerServiceMapping {
            host,
            port,
            service: service.to_owned(),
        })
    }
}

/// `peer` as a lower-cased host and an optional port.
fn host_and_port(peer: &str) -> Result<(String, Option<u16>), String> {
    if peer.is_empty() {
        return Err("a peer cannot be empty: give a host name or an IP address".to_owned());
    }
    if let Some(bracketed) = peer.strip_prefix('[') {
        let (address, rest) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address opened with '[' must close with ']'")?;
        let address: Ipv6Addr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IPv6 address"))?;
        let port = match rest {
            "" => None,
            rest => Some(port(rest.strip_prefix(':').ok_or(
                "after an IPv6 address in brackets, only ':' and a port may follow",
            )?)?),
        };
        return Ok((address.to_string(), port));
    }
    if peer.contains('/') {
        // Some agents also match a path; spanflow's client spans match
        // the host and port only, so a path would never match.
        return Err("a URL or a path is not matched: give the host alone, \
             with an optional :port (api.example.com:8443)"
            .to_owned());
    }
    if let Ok(address) = peer.parse::<Ipv6Addr>() {
        return Ok((address.to_string(), None));
    }
    let (host, port) = match peer.split_once(':') {
        Some((host, port_text)) => (host, Some(port(port_text)?)),
        None => (peer, None),
    };
    if let Some(invalid) = host
        .chars()
        .find(|&character| !(character.is_ascii_alphanumeric() || "-._".contains(character)))
    {
        return Err(format!(
            "{invalid:?} is not allowed in a host: give a host name or an IP address, \
             with an optional :port"
        ));
    }
    if host.is_empty() {
        return Err("a port needs a host before it".to_owned());
    }
    Ok((host.to_ascii_lowercase(), port))
}

fn port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("{text:?} is not a port (1 to 65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(peer: &str) -> Result<(String, Option<u16>), String> {
        PeerServiceMapping::new(peer, "service")
            .map(|mapping| (mapping.host, mapping.port))
            .map_err(|error| error.reason)
    }

    #[test]
    fn hosts_and_addresses_with_and_without_ports() {
        for (peer, host, port) in [
            ("payments.internal", "payments.internal", None),
            (" Payments.Internal:8443 ", "payments.internal", Some(8443)),
            ("10.0.4.7", "10.0.4.7", None),
            ("10.0.4.7:50051", "10.0.4.7", Some(50051)),
            ("::1", "::1", None),
            ("[::1]", "::1", None),
            ("[0:0::1]:8080", "::1", Some(8080)),
            ("FE80::1", "fe80::1", None),
            ("my_host", "my_host", None),
        ] {
            assert_eq!(parsed(peer), Ok((host.to_owned(), port)), "{peer}");
        }
    }

    #[test]
    fn what_is_not_a_host_says_why() {
        for (peer, reason) in [
            ("", "a peer cannot be empty"),
            ("https://stripe.com", "a URL or a path is not matched"),
            ("stripe.com/v1", "a URL or a path is not matched"),
            ("stripe.com:0", "\"0\" is not a port"),
            ("stripe.com:https", "\"https\" is not a port"),
            ("stripe.com:70000", "\"70000\" is not a port"),
            (":8080", "a port needs a host"),
            (
                "[::1",
                "an IPv6 address opened with '[' must close with ']'",
            ),
            (
                "[::1]8080",
                "after an IPv6 address in brackets, only ':' and a port",
            ),
            ("[example.com]", "\"example.com\" is not an IPv6 address"),
            ("a b", "' ' is not allowed"),
        ] {
            let error = parsed(peer).expect_err(peer);
            assert!(error.starts_with(reason), "{peer}: {error}");
        }
        let error = PeerServiceMapping::new("stripe.com", " ").expect_err("empty");
        assert_eq!(error.reason, "a service name cannot be empty");
    }

    proptest::proptest! {
        /// Any text is a mapping or an error, never a panic; a mapping's
        /// host reads back as the same mapping.
        #[test]
        fn any_peer_is_a_mapping_or_an_error(peer in "\\PC{0,40}|[a-zA-Z0-9.:\\[\\]_-]{0,40}") {
            if let Ok(mapping) = PeerServiceMapping::new(&peer, "service") {
                proptest::prop_assert!(!mapping.host.is_empty());
                proptest::prop_assert!(mapping.port != Some(0));
                let written = match (mapping.host.contains(':'), mapping.port) {
                    (true, Some(port)) => format!("[{}]:{port}", mapping.host),
                    (false, Some(port)) => format!("{}:{port}", mapping.host),
                    (_, None) => mapping.host.clone(),
                };
                let again = PeerServiceMapping::new(&written, "service");
                proptest::prop_assert_eq!(again.as_ref(), Ok(&mapping));
            }
        }
    }
}
