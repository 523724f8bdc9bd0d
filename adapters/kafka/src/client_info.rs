//! What every span of a client records about it: client id, consumer
//! group, the first bootstrap server.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use opentelemetry::{KeyValue, StringValue};
use opentelemetry_semantic_conventions::attribute::{
    MESSAGING_CLIENT_ID, MESSAGING_CONSUMER_GROUP_NAME, MESSAGING_SYSTEM, SERVER_ADDRESS,
    SERVER_PORT,
};
use rdkafka::client::{Client, ClientContext};
use rdkafka_sys as rdsys;
use rdkafka_sys::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK;

/// Read once from the client's effective configuration, so that spans
/// need no lookups (and the user passes nothing twice). The values are
/// shared: a span's copy of them is a reference count, not an allocation.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientInfo {
    /// `messaging.system`, `messaging.client.id`, `server.address`,
    /// `server.port`: what every span of the client records.
    attributes: Vec<KeyValue>,
    /// `messaging.consumer.group.name`: what a consumer's spans add.
    group: Option<KeyValue>,
}

impl ClientInfo {
    pub(crate) fn read<C: ClientContext>(client: &Client<C>) -> ClientInfo {
        let shared = |text: String| StringValue::from(Arc::<str>::from(text));
        let known = |name| config_value(client, name).filter(|value| !value.is_empty());
        let server = config_value(client, "bootstrap.servers")
            .as_deref()
            .and_then(first_server);
        let mut attributes = vec![KeyValue::new(MESSAGING_SYSTEM, "kafka")];
        if let Some(id) = known("client.id") {
            attributes.push(KeyValue::new(MESSAGING_CLIENT_ID, shared(id)));
        }
        if let Some((host, port)) = server {
            attributes.push(KeyValue::new(SERVER_ADDRESS, shared(host)));
            if let Some(port) = port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        ClientInfo {
            attributes,
            group: known("group.id")
                .map(|group| KeyValue::new(MESSAGING_CONSUMER_GROUP_NAME, shared(group))),
        }
    }

    /// `messaging.system`, `messaging.client.id`, `server.address`,
    /// `server.port`.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = KeyValue> + '_ {
        self.attributes.iter().cloned()
    }

    /// [`attributes`](Self::attributes) and, for a consumer in a group,
    /// `messaging.consumer.group.name`.
    pub(crate) fn consumer_attributes(&self) -> impl Iterator<Item = KeyValue> + '_ {
        self.group.iter().chain(&self.attributes).cloned()
    }
}

/// One property of the client's configuration, defaults included.
fn config_value<C: ClientContext>(client: &Client<C>, name: &str) -> Option<String> {
    let name = CString::new(name).ok()?;
    // SAFETY: the client is live; librdkafka's configuration of it is owned
    // by it and read-only here. The first call asks for the size, the second
    // fills a buffer of that size (NUL included).
    unsafe {
        let conf = rdsys::rd_kafka_conf(client.native_ptr());
        let mut size = 0usize;
        if rdsys::rd_kafka_conf_get(conf, name.as_ptr(), std::ptr::null_mut(), &mut size)
            != RD_KAFKA_CONF_OK
            || size == 0
        {
            return None;
        }
        let mut buffer = vec![0u8; size];
        if rdsys::rd_kafka_conf_get(
            conf,
            name.as_ptr(),
            buffer.as_mut_ptr().cast::<c_char>(),
            &mut size,
        ) != RD_KAFKA_CONF_OK
        {
            return None;
        }
        buffer.truncate(buffer.iter().position(|&byte| byte == 0).unwrap_or(size));
        String::from_utf8(buffer).ok()
    }
}

/// `host[:port]` of the first of `bootstrap.servers` (a comma-separated
/// list, entries perhaps prefixed with a protocol).
fn first_server(servers: &str) -> Option<(String, Option<u16>)> {
    let first = servers
        .split(',')
        .map(str::trim)
        .find(|entry| !entry.is_empty())?;
    let first = first.rsplit("://").next().unwrap_or(first);
    if let Some(bracketed) = first.strip_prefix('[') {
        // [::1]:9092
        let (host, rest) = bracketed.split_once(']')?;
        let port = rest.strip_prefix(':').and_then(|port| port.parse().ok());
        return Some((host.to_owned(), port));
    }
    match first.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host.to_owned(), port.parse().ok())),
        _ => Some((first.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::first_server;

    #[test]
    fn the_first_bootstrap_server_is_the_server_address() {
        let parse = |text: &str| first_server(text);
        assert_eq!(
            parse("127.0.0.1:9092"),
            Some(("127.0.0.1".into(), Some(9092)))
        );
        assert_eq!(
            parse(" kafka-1:9093,kafka-2:9093"),
            Some(("kafka-1".into(), Some(9093)))
        );
        assert_eq!(
            parse("PLAINTEXT://broker:9092"),
            Some(("broker".into(), Some(9092)))
        );
        assert_eq!(parse("[::1]:9092"), Some(("::1".into(), Some(9092))));
        assert_eq!(parse("broker"), Some(("broker".into(), None)));
        assert_eq!(parse(""), None);
    }
}
