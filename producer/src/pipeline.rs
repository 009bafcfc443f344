//! The publisher's background task: takes events from the queue, encodes
//! them, hands them to librdkafka and reports each delivery to its caller.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use offload_schemas::{Codec, DispatchEvent, CONTENT_TYPE};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;
use uuid::Uuid;

use crate::metrics::ProducerMetrics;
use crate::publisher::{Delivered, PublishError, CONTENT_TYPE_HEADER, EVENT_ID_HEADER, TRACEPARENT_HEADER};

/// How long the task waits before offering a record again when librdkafka's
/// own queue (`queue.buffering.max.messages`) is full.
const LIBRDKAFKA_FULL_BACKOFF: Duration = Duration::from_millis(1);

/// One event in the queue.
pub(crate) struct Queued {
    pub(crate) event: DispatchEvent,
    pub(crate) traceparent: Option<String>,
    pub(crate) reply: oneshot::Sender<Result<Delivered, PublishError>>,
}

/// The task's queue receiver, producer, codec and counters.
pub(crate) struct Pipeline {
    pub(crate) receiver: mpsc::Receiver<Queued>,
    pub(crate) producer: FutureProducer,
    pub(crate) codec: Codec,
    pub(crate) topic: String,
    pub(crate) metrics: ProducerMetrics,
    pub(crate) pending: Arc<AtomicUsize>,
}

/// Runs until every publisher handle is dropped and the queue is empty.
pub(crate) async fn run(mut pipeline: Pipeline) {
    let mut payload = Vec::with_capacity(1024);
    while let Some(queued) = pipeline.receiver.recv().await {
        pipeline.metrics.queue_events.dec();
        let event_id = queued.event.event_id;

        payload.clear();
        let sent = match pipeline.codec.encode_into(&queued.event, &mut payload) {
            Ok(()) => send(&pipeline, &queued, &payload).await,
            Err(error) => Err(PublishError::Encode(error)),
        };

        match sent {
            Ok(future) => {
                tokio::spawn(report(
                    future,
                    event_id,
                    pipeline.topic.clone(),
                    queued.reply,
                    pipeline.metrics.clone(),
                    Arc::clone(&pipeline.pending),
                ));
            }
            Err(error) => finish(
                Err(error),
                event_id,
                &pipeline.topic,
                queued.reply,
                &pipeline.metrics,
                &pipeline.pending,
            ),
        }
    }
}

/// Hands one record to librdkafka, waiting while its queue is full.
async fn send(pipeline: &Pipeline, queued: &Queued, payload: &[u8]) -> Result<DeliveryFuture, PublishError> {
    let event_id = queued.event.event_id.hyphenated().to_string();
    let mut headers = OwnedHeaders::new_with_capacity(3)
        .insert(Header {
            key: EVENT_ID_HEADER,
            value: Some(event_id.as_str()),
        })
        .insert(Header {
            key: CONTENT_TYPE_HEADER,
            value: Some(CONTENT_TYPE),
        });
    if let Some(traceparent) = &queued.traceparent {
        headers = headers.insert(Header {
            key: TRACEPARENT_HEADER,
            value: Some(traceparent.as_str()),
        });
    }

    let mut record = FutureRecord::to(&pipeline.topic)
        .key(queued.event.entity_key.as_bytes())
        .payload(payload)
        .headers(headers);
    loop {
        match pipeline.producer.send_result(record) {
            Ok(future) => return Ok(future),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                record = returned;
                tokio::time::sleep(LIBRDKAFKA_FULL_BACKOFF).await;
            }
            Err((source, _)) => {
                return Err(PublishError::Delivery {
                    event_id: queued.event.event_id,
                    topic: pipeline.topic.clone(),
                    source,
                })
            }
        }
    }
}

/// Waits for Kafka's acknowledgement and reports it.
async fn report(
    future: DeliveryFuture,
    event_id: Uuid,
    topic: String,
    reply: oneshot::Sender<Result<Delivered, PublishError>>,
    metrics: ProducerMetrics,
    pending: Arc<AtomicUsize>,
) {
    let outcome = match future.await {
        Ok(Ok(delivery)) => Ok(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        }),
        Ok(Err((source, _))) => Err(PublishError::Delivery {
            event_id,
            topic: topic.clone(),
            source,
        }),
        Err(_canceled) => Err(PublishError::Closed { event_id }),
    };
    finish(outcome, event_id, &topic, reply, &metrics, &pending);
}

/// Counts and logs an outcome and passes it to the caller's `Delivery`.
fn finish(
    outcome: Result<Delivered, PublishError>,
    event_id: Uuid,
    topic: &str,
    reply: oneshot::Sender<Result<Delivered, PublishError>>,
    metrics: &ProducerMetrics,
    pending: &AtomicUsize,
) {
    match &outcome {
        Ok(_) => metrics.deliveries.with_label_values(&["delivered"]).inc(),
        Err(error) => {
            metrics.deliveries.with_label_values(&["failed"]).inc();
            warn!(%event_id, topic, error = %error, "event was not delivered");
        }
    }
    pending.fetch_sub(1, Ordering::SeqCst);
    // The caller may have dropped its Delivery; the outcome is logged above.
    let _ = reply.send(outcome);
}
