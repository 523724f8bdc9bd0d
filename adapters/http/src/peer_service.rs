//! `peer.service` on client spans: the name of the service a request goes
//! to, looked up by the host (and port) it is sent to.
//!
//! The conventions have renamed the attribute `service.peer.name`
//! (experimental), but the backends that draw service graphs from client
//! spans (Tempo, Jaeger, the Collector's `servicegraph` connector) read
//! `peer.service`, as OpenTelemetry's Java agent still writes it; so it is
//! the name written here.

// actix-web alone makes no client.
#![cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::sync::Arc;

use opentelemetry::{KeyValue, StringValue};
#[allow(deprecated)] // see above
use opentelemetry_semantic_conventions::attribute::PEER_SERVICE;
use spanflow::Span;
use spanflow::config::PeerServiceMapping;

/// The services a client's spans name, by host.
#[derive(Debug, Default)]
pub(crate) struct PeerServices {
    /// Host (lower-cased; IPv6 without brackets) → the services there, an
    /// entry with a port before the one without.
    by_host: HashMap<Box<str>, Vec<(Option<u16>, StringValue)>>,
}

impl PeerServices {
    pub(crate) fn new(mappings: impl IntoIterator<Item = PeerServiceMapping>) -> Self {
        let mut by_host: HashMap<Box<str>, Vec<(Option<u16>, StringValue)>> = HashMap::new();
        for mapping in mappings {
            let services = by_host.entry(mapping.host.into_boxed_str()).or_default();
            // A peer listed twice in code: the later entry wins, as a later
            // builder call does.
            services.retain(|(port, _)| *port != mapping.port);
            // Shared: each span takes a reference, not a copy.
            let service = StringValue::from(Arc::<str>::from(mapping.service));
            services.push((mapping.port, service));
            services.sort_by_key(|(port, _)| port.is_none());
        }
        PeerServices { by_host }
    }

    /// The service at `host` (as a URL or an authority writes it: an IPv6
    /// address in brackets) on `port`, if mapped.
    pub(crate) fn find(&self, host: &str, port: Option<u16>) -> Option<&StringValue> {
        if self.by_host.is_empty() {
            return None;
        }
        let services = match host
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
        {
            // An IPv6 address, written as the mapping's is (`0:0::1` is
            // `::1`): rare enough to be written out per request.
            Some(address) => match address.parse::<Ipv6Addr>() {
                Ok(address) => self.by_host.get(address.to_string().as_str()),
                Err(_) => self.by_host.get(address),
            },
            None if host.bytes().any(|byte| byte.is_ascii_uppercase()) => {
                self.by_host.get(host.to_ascii_lowercase().as_str())
            }
            None => self.by_host.get(host),
        }?;
        services
            .iter()
            .find(|(mapped, _)| mapped.is_none() || *mapped == port)
            .map(|(_, service)| service)
    }

    /// Records `peer.service` on `span` when `host` and `port` are mapped.
    pub(crate) fn record(&self, span: &mut Span, host: &str, port: Option<u16>) {
        if let Some(service) = self.find(host, port) {
            record_peer_service(span, service);
        }
    }
}

/// Records `service` as `span`'s `peer.service`.
#[allow(deprecated)] // the name backends read: see the module's docs
pub(crate) fn record_peer_service(span: &mut Span, service: &StringValue) {
    span.set_attribute(KeyValue::new(PEER_SERVICE, service.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(entries: &[(&str, &str)]) -> PeerServices {
        PeerServices::new(
            entries.iter().map(|(peer, service)| {
                PeerServiceMapping::new(peer, service).expect("a valid peer")
            }),
        )
    }

    #[test]
    fn a_port_specific_entry_wins_over_the_hosts() {
        let mapped = services(&[
            ("ledger.internal", "ledger"),
            ("ledger.internal:9090", "ledger-metrics"),
            ("::1", "local"),
            ("Stripe.com", "stripe"),
        ]);
        let found = |host, port| mapped.find(host, port).map(StringValue::as_str);
        assert_eq!(found("ledger.internal", Some(443)), Some("ledger"));
        assert_eq!(found("ledger.internal", None), Some("ledger"));
        assert_eq!(found("ledger.internal", Some(9090)), Some("ledger-metrics"));
        assert_eq!(found("LEDGER.internal", Some(9090)), Some("ledger-metrics"));
        assert_eq!(found("[::1]", Some(50051)), Some("local"));
        assert_eq!(found("[0:0::1]", Some(50051)), Some("local"));
        assert_eq!(found("[::2]", Some(50051)), None);
        assert_eq!(found("::1", None), Some("local"));
        assert_eq!(found("stripe.com", Some(443)), Some("stripe"));
        assert_eq!(
            found("api.stripe.com", Some(443)),
            None,
            "hosts match whole"
        );
        assert_eq!(found("127.0.0.1", Some(80)), None);
    }

    #[test]
    fn only_a_port_specific_entry_leaves_other_ports_unmapped() {
        let mapped = services(&[("10.0.4.7:8443", "ledger")]);
        assert_eq!(
            mapped.find("10.0.4.7", Some(8443)).map(StringValue::as_str),
            Some("ledger")
        );
        assert_eq!(mapped.find("10.0.4.7", Some(80)), None);
        assert_eq!(mapped.find("10.0.4.7", None), None);
    }

    #[test]
    fn a_found_service_is_shared_not_copied() {
        let mapped = services(&[("a.example", "a-service")]);
        let found = mapped.find("a.example", None).expect("mapped");
        assert!(std::ptr::eq(found.clone().as_str(), found.as_str()));
    }

    #[test]
    fn a_peer_given_twice_takes_the_later_service() {
        let mapped = services(&[("a.example", "first"), ("A.example", "second")]);
        assert_eq!(
            mapped.find("a.example", None).map(StringValue::as_str),
            Some("second")
        );
    }
}
