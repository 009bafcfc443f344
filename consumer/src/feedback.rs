//! The push feedback topic: device tokens that APNs or FCM reported as no
//! longer valid, published as `PushFeedback` records keyed by token so that
//! the primary service can delete them.

use std::collections::BTreeMap;
use std::time::Duration;

use offload_schemas::{FeedbackCodec, PushFeedback};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::config::KafkaValue;
use crate::dead_letter::idempotent_producer_config;

/// Value of the `content-type` header of feedback records.
pub const CONTENT_TYPE: &str = "application/vnd.offload.push-feedback+avro";

/// Header with the id of the event whose push revealed the gone token; the
/// same header name producers put on dispatch records.
pub const EVENT_ID_HEADER: &str = "offload-event-id";

/// Time a record may wait for Kafka's acknowledgement before its send fails
/// and the push action is retried, in milliseconds (librdkafka's
/// `message.timeout.ms`, whose own default is five minutes).
const DELIVERY_TIMEOUT_MS: u64 = 30_000;

/// Publishes feedback records and waits for Kafka's acknowledgement.
pub struct FeedbackProducer {
    producer: FutureProducer,
    topic: String,
    codec: FeedbackCodec,
}

impl FeedbackProducer {
    /// Creates an idempotent producer for `topic` with the worker's
    /// connection settings (`bootstrap.servers` and security keys).
    pub fn new(kafka: &BTreeMap<String, KafkaValue>, topic: &str) -> Result<FeedbackProducer, KafkaError> {
        let producer = idempotent_producer_config(kafka)
            .set("message.timeout.ms", DELIVERY_TIMEOUT_MS.to_string())
            .create()?;
        Ok(FeedbackProducer {
            producer,
            topic: topic.to_string(),
            codec: FeedbackCodec::new(),
        })
    }

    /// Returns the feedback topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Publishes `feedback` keyed by its token, so that every record of one
    /// token lands in one partition in order, and returns once Kafka has
    /// acknowledged it.
    pub async fn publish(&self, feedback: &PushFeedback) -> Result<(), KafkaError> {
        let payload = self.codec.encode(feedback);
        let event_id = feedback.event_id.hyphenated().to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: EVENT_ID_HEADER,
                value: Some(event_id.as_str()),
            })
            .insert(Header {
                key: "content-type",
                value: Some(CONTENT_TYPE),
            });
        let record = FutureRecord::to(&self.topic)
            .key(feedback.token.as_str())
            .payload(payload.as_slice())
            .headers(headers);

        self.producer
            .send(record, Duration::from_millis(DELIVERY_TIMEOUT_MS))
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }
}
