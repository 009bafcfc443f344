//! The dead-letter topic: where records that can never succeed are published
//! with the reason, so that an offset can move past them without losing them.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

use crate::config::KafkaValue;

/// Header names of a dead letter; the original record's headers are kept too.
pub mod headers {
    /// Topic the record was consumed from.
    pub const SOURCE_TOPIC: &str = "offload-dlq-source-topic";
    /// Partition the record was consumed from.
    pub const SOURCE_PARTITION: &str = "offload-dlq-source-partition";
    /// Offset of the record.
    pub const SOURCE_OFFSET: &str = "offload-dlq-source-offset";
    /// Consumer group of the worker.
    pub const GROUP: &str = "offload-dlq-group";
    /// Class of the failure, for example `undecodable` or `unknown_statement`.
    pub const ERROR_CLASS: &str = "offload-dlq-error-class";
    /// The failure's message.
    pub const ERROR_MESSAGE: &str = "offload-dlq-error-message";
    /// Number of attempts made.
    pub const ATTEMPTS: &str = "offload-dlq-attempts";
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub const FIRST_FAILURE_MS: &str = "offload-dlq-first-failure-ms";
}

/// Why a record is dead-lettered.
#[derive(Debug)]
pub struct Reason {
    /// Short class, as in [`headers::ERROR_CLASS`].
    pub class: &'static str,
    /// The error message, with its causes.
    pub message: String,
    /// Number of attempts made.
    pub attempts: u32,
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub first_failure_ms: i64,
}

/// Publishes dead letters and waits for Kafka's acknowledgement.
pub struct DeadLetterProducer {
    producer: FutureProducer,
    topic: String,
    group: String,
}

impl DeadLetterProducer {
    /// Creates an idempotent producer for `topic` with the worker's
    /// connection settings (`bootstrap.servers` and security keys).
    pub fn new(
        kafka: &BTreeMap<String, KafkaValue>,
        topic: &str,
        group: &str,
    ) -> Result<DeadLetterProducer, KafkaError> {
        let producer = idempotent_producer_config(kafka).create()?;

        Ok(DeadLetterProducer {
            producer,
            topic: topic.to_string(),
            group: group.to_string(),
        })
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Publishes `record` unchanged (key, payload, headers) with the reason in
    /// extra headers, and returns once Kafka has acknowledged it.
    pub async fn publish<M: Message>(&self, record: &M, reason: &Reason) -> Result<(), KafkaError> {
        let mut headers = OwnedHeaders::new();
        if let Some(original) = record.headers() {
            for header in original.iter() {
                headers = headers.insert(Header {
                    key: header.key,
                    value: header.value,
                });
            }
        }
        let partition = record.partition().to_string();
        let offset = record.offset().to_string();
        let attempts = reason.attempts.to_string();
        let first_failure = reason.first_failure_ms.to_string();
        for (key, value) in [
            (headers::SOURCE_TOPIC, record.topic()),
            (headers::SOURCE_PARTITION, partition.as_str()),
            (headers::SOURCE_OFFSET, offset.as_str()),
            (headers::GROUP, self.group.as_str()),
            (headers::ERROR_CLASS, reason.class),
            (headers::ERROR_MESSAGE, reason.message.as_str()),
            (headers::ATTEMPTS, attempts.as_str()),
            (headers::FIRST_FAILURE_MS, first_failure.as_str()),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }

        let mut letter: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).headers(headers);
        if let Some(key) = record.key() {
            letter = letter.key(key);
        }
        if let Some(payload) = record.payload() {
            letter = letter.payload(payload);
        }

        self.producer
            .send(letter, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }
}

/// Returns the settings of an idempotent producer that waits for every
/// in-sync replica, with the worker's connection settings
/// (`bootstrap.servers` and security keys).
pub(crate) fn idempotent_producer_config(kafka: &BTreeMap<String, KafkaValue>) -> ClientConfig {
    let mut client = ClientConfig::new();
    for (key, value) in kafka {
        if is_connection_setting(key) {
            client.set(key, value.to_string());
        }
    }
    client.set("enable.idempotence", "true").set("acks", "all");
    client
}

/// Returns whether a consumer setting also applies to the worker's producers.
fn is_connection_setting(key: &str) -> bool {
    key == "bootstrap.servers"
        || key == "client.id"
        || key == "security.protocol"
        || key.starts_with("ssl.")
        || key.starts_with("sasl.")
}
