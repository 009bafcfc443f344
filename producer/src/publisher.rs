//! Keyed publishing of encoded events to the dispatch topic.

use std::collections::BTreeMap;
use std::time::Duration;

use offload_schemas::{Codec, DispatchEvent, EncodeError, CONTENT_TYPE};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use uuid::Uuid;

/// Header carrying the event id, so infrastructure can trace a record without decoding it.
pub const EVENT_ID_HEADER: &str = "offload-event-id";

/// Header carrying [`CONTENT_TYPE`].
pub const CONTENT_TYPE_HEADER: &str = "content-type";

/// Settings of a [`Publisher`].
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    /// The dispatch topic.
    pub topic: String,
    /// Name of this service, written into every event.
    pub source_service: String,
    /// Extra librdkafka producer settings; they override the defaults.
    pub kafka: BTreeMap<String, String>,
}

impl PublisherConfig {
    /// Creates settings with offload's producer defaults.
    pub fn new(
        bootstrap_servers: impl Into<String>,
        topic: impl Into<String>,
        source_service: impl Into<String>,
    ) -> PublisherConfig {
        PublisherConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic: topic.into(),
            source_service: source_service.into(),
            kafka: BTreeMap::new(),
        }
    }
}

/// Errors of publishing one event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The producer could not be created from the settings.
    #[error("invalid Kafka producer settings")]
    Client(#[source] KafkaError),
    /// The event could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// librdkafka's local queue is full (`queue.buffering.max.messages`).
    #[error("producer queue is full; event {event_id} was not published")]
    QueueFull {
        /// Id of the event that was not enqueued.
        event_id: Uuid,
    },
    /// Kafka did not accept the record.
    #[error("event {event_id} was not delivered to topic {topic}")]
    Delivery {
        /// Id of the event.
        event_id: Uuid,
        /// The dispatch topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// The producer was dropped before it reported the delivery.
    #[error("producer closed before event {event_id} was acknowledged")]
    Canceled {
        /// Id of the event.
        event_id: Uuid,
    },
}

/// Where a delivered event was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition of the dispatch topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
}

/// A publish in flight. Dropping it does not cancel the publish.
#[must_use = "a Delivery reports whether the event reached Kafka"]
pub struct Delivery {
    event_id: Uuid,
    topic: String,
    future: DeliveryFuture,
}

impl Delivery {
    /// Id of the published event.
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// Waits until Kafka acknowledges the record or the producer gives up.
    pub async fn wait(self) -> Result<Delivered, PublishError> {
        match self.future.await {
            Ok(Ok(delivery)) => Ok(Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
            }),
            Ok(Err((source, _))) => Err(PublishError::Delivery {
                event_id: self.event_id,
                topic: self.topic,
                source,
            }),
            Err(_canceled) => Err(PublishError::Canceled {
                event_id: self.event_id,
            }),
        }
    }
}

/// Publishes dispatch events, keyed by entity, to one topic.
pub struct Publisher {
    producer: FutureProducer,
    codec: Codec,
    topic: String,
    source_service: String,
}

impl Publisher {
    /// Creates an idempotent producer (`enable.idempotence`, `acks=all`) with
    /// compression and a short linger for batching.
    pub fn new(config: PublisherConfig) -> Result<Publisher, PublishError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "zstd")
            .set("linger.ms", "5");
        for (key, value) in &config.kafka {
            client.set(key, value);
        }
        let producer = client.create().map_err(PublishError::Client)?;

        Ok(Publisher {
            producer,
            codec: Codec::new(),
            topic: config.topic,
            source_service: config.source_service,
        })
    }

    /// Name of this service, as written into events.
    pub fn source_service(&self) -> &str {
        &self.source_service
    }

    /// The dispatch topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Encodes `event` and enqueues it for delivery without waiting for Kafka.
    pub fn publish(&self, event: &DispatchEvent) -> Result<Delivery, PublishError> {
        let payload = self.codec.encode(event)?;
        let event_id = event.event_id.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: EVENT_ID_HEADER,
                value: Some(event_id.as_str()),
            })
            .insert(Header {
                key: CONTENT_TYPE_HEADER,
                value: Some(CONTENT_TYPE),
            });
        let record = FutureRecord::to(&self.topic)
            .key(event.entity_key.as_bytes())
            .payload(&payload)
            .headers(headers);

        match self.producer.send_result(record) {
            Ok(future) => Ok(Delivery {
                event_id: event.event_id,
                topic: self.topic.clone(),
                future,
            }),
            Err((KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull), _)) => {
                Err(PublishError::QueueFull {
                    event_id: event.event_id,
                })
            }
            Err((source, _)) => Err(PublishError::Delivery {
                event_id: event.event_id,
                topic: self.topic.clone(),
                source,
            }),
        }
    }

    /// Waits up to `timeout` for every enqueued record to be acknowledged.
    pub fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        self.producer.flush(timeout).map_err(PublishError::Client)
    }
}
