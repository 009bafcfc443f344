//! The process-wide publisher: a bounded queue in front of an idempotent
//! Kafka producer, with delivery outcomes the caller can await.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offload_schemas::registry::value_subject;
use offload_schemas::{Codec, DispatchEvent, RegistryError, SchemaRegistry, WireFormat, DISPATCH_EVENT_SCHEMA};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::config::{FullQueuePolicy, PublisherConfig, QueueConfig};
use crate::dispatcher::DispatchError;
use crate::metrics::ProducerMetrics;
use crate::pipeline::{self, Queued};
use crate::trace::current_traceparent;
use crate::validate::validate_event;

/// Header carrying the event id, so infrastructure can trace a record without decoding it.
pub const EVENT_ID_HEADER: &str = "offload-event-id";

/// Header carrying [`offload_schemas::CONTENT_TYPE`].
pub const CONTENT_TYPE_HEADER: &str = "content-type";

/// Header carrying the W3C trace context of the span that dispatched the event.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Errors of creating a publisher and of publishing one event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The producer could not be created from the settings.
    #[error("invalid Kafka producer settings")]
    Client(#[source] KafkaError),
    /// `queue.capacity` is zero.
    #[error("queue.capacity is 0; set it to the number of events the queue may hold, for example 10000")]
    ZeroQueueCapacity,
    /// A schema registry URL is set, which needs the async constructor.
    #[error("schema_registry_url is set: create the publisher with Publisher::connect, which registers the schema")]
    RegistryNeedsConnect,
    /// Registering the schema failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The metrics could not be registered, usually because a publisher
    /// already registered them in the same registry.
    #[error("registering the producer metrics failed")]
    Metrics(#[source] prometheus::Error),
    /// The event could not be encoded.
    #[error(transparent)]
    Encode(#[from] offload_schemas::EncodeError),
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
    /// The publisher's background task stopped before it reported the delivery.
    #[error("the publisher stopped before event {event_id} was acknowledged")]
    Closed {
        /// Id of the event.
        event_id: Uuid,
    },
    /// [`Publisher::flush`] timed out.
    #[error("{pending} events were still unacknowledged after {timeout:?}")]
    FlushTimeout {
        /// Events accepted but not yet acknowledged or failed.
        pending: usize,
        /// The timeout.
        timeout: Duration,
    },
}

/// The partition and offset of a delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition of the dispatch topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
}

/// A publish in flight. Dropping it does not cancel the publish, and a
/// failure that no caller awaits is still logged and counted.
#[must_use = "a Delivery reports whether the event reached Kafka"]
#[derive(Debug)]
pub struct Delivery {
    event_id: Uuid,
    entity_key: String,
    outcome: oneshot::Receiver<Result<Delivered, PublishError>>,
}

impl Delivery {
    /// Id of the published event.
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// The event's entity key.
    pub fn entity_key(&self) -> &str {
        &self.entity_key
    }

    /// Waits until Kafka acknowledges the record or the producer gives up
    /// (after librdkafka's `message.timeout.ms`).
    pub async fn wait(self) -> Result<Delivered, PublishError> {
        match self.outcome.await {
            Ok(outcome) => outcome,
            Err(_closed) => Err(PublishError::Closed {
                event_id: self.event_id,
            }),
        }
    }
}

/// Publishes dispatch events, keyed by entity, to one topic. Cheap to
/// clone; clones share the queue.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Queued>,
    queue_config: QueueConfig,
    producer: FutureProducer,
    topic: String,
    source_service: String,
    metrics: ProducerMetrics,
    registry: prometheus::Registry,
    pending: Arc<AtomicUsize>,
}

impl Publisher {
    /// Creates a publisher writing Avro single-object encoding and starts
    /// its background task on the current tokio runtime.
    ///
    /// The producer is idempotent (`enable.idempotence`, `acks=all`), with
    /// zstd compression and a 5 ms linger for batching.
    pub fn new(config: PublisherConfig) -> Result<Publisher, PublishError> {
        if config.schema_registry_url.is_some() {
            return Err(PublishError::RegistryNeedsConnect);
        }
        Publisher::start(config, Codec::new())
    }

    /// Creates a publisher like [`Publisher::new`]; with a schema registry
    /// URL, first registers the schema under `<topic>-value` and writes the
    /// Confluent wire format with the id the registry returns.
    pub async fn connect(config: PublisherConfig) -> Result<Publisher, PublishError> {
        let Some(url) = &config.schema_registry_url else {
            return Publisher::start(config, Codec::new());
        };

        let registry = SchemaRegistry::new(url, config.schema_registry_timeout)?;
        let schema_id = registry
            .register(&value_subject(&config.topic), DISPATCH_EVENT_SCHEMA)
            .await?;
        tracing::info!(topic = %config.topic, schema_id, registry = %url, "registered the DispatchEvent schema");

        let codec = Codec::new().with_wire_format(WireFormat::Confluent { schema_id });
        Publisher::start(config, codec)
    }

    fn start(config: PublisherConfig, codec: Codec) -> Result<Publisher, PublishError> {
        if config.queue.capacity == 0 {
            return Err(PublishError::ZeroQueueCapacity);
        }

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
        let producer: FutureProducer = client.create().map_err(PublishError::Client)?;

        let registry = config.metrics_registry.clone().unwrap_or_default();
        let metrics = ProducerMetrics::register(&registry).map_err(PublishError::Metrics)?;
        let pending = Arc::new(AtomicUsize::new(0));
        let (queue, receiver) = mpsc::channel(config.queue.capacity);

        tokio::spawn(pipeline::run(pipeline::Pipeline {
            receiver,
            producer: producer.clone(),
            codec,
            topic: config.topic.clone(),
            metrics: metrics.clone(),
            pending: Arc::clone(&pending),
        }));

        Ok(Publisher {
            inner: Arc::new(Inner {
                queue,
                queue_config: config.queue,
                producer,
                topic: config.topic,
                source_service: config.source_service,
                metrics,
                registry,
                pending,
            }),
        })
    }

    /// Name of this service, as written into events.
    pub fn source_service(&self) -> &str {
        &self.inner.source_service
    }

    /// The dispatch topic.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// Returns the registry that contains the producer's metrics.
    pub fn metrics_registry(&self) -> &prometheus::Registry {
        &self.inner.registry
    }

    /// Validates `event` and enqueues it without waiting for Kafka, applying
    /// the full-queue policy. The `traceparent` header comes from the current span.
    pub async fn publish(&self, event: DispatchEvent) -> Result<Delivery, DispatchError> {
        validate_event(&event)?;
        let mut deliveries = self.enqueue(vec![event], current_traceparent()).await?;
        Ok(deliveries.pop().expect("one delivery per enqueued event"))
    }

    /// Enqueues all of `events` or none of them.
    pub(crate) async fn enqueue(
        &self,
        events: Vec<DispatchEvent>,
        traceparent: Option<String>,
    ) -> Result<Vec<Delivery>, DispatchError> {
        let inner = &self.inner;
        let capacity = inner.queue_config.capacity;
        if events.len() > capacity {
            return Err(DispatchError::TooManyEvents {
                count: events.len(),
                capacity,
            });
        }

        let count = events.len();
        let permits = match inner.queue.try_reserve_many(count) {
            Ok(permits) => permits,
            Err(mpsc::error::TrySendError::Closed(())) => return Err(DispatchError::Closed),
            Err(mpsc::error::TrySendError::Full(())) => {
                let policy = inner.queue_config.when_full;
                let FullQueuePolicy::Wait { max_wait } = policy else {
                    self.count_full(policy, "rejected", None);
                    return Err(DispatchError::QueueFull {
                        policy,
                        waited: Duration::ZERO,
                        events,
                    });
                };

                let started = Instant::now();
                match tokio::time::timeout(max_wait, inner.queue.reserve_many(count)).await {
                    Ok(Ok(permits)) => {
                        self.count_full(policy, "waited", Some(started.elapsed()));
                        permits
                    }
                    Ok(Err(_closed)) => return Err(DispatchError::Closed),
                    Err(_elapsed) => {
                        let waited = started.elapsed();
                        self.count_full(policy, "rejected", Some(waited));
                        return Err(DispatchError::QueueFull { policy, waited, events });
                    }
                }
            }
        };

        // Count before sending, so that the pipeline never decrements first.
        inner.metrics.enqueued.inc_by(count as u64);
        inner.metrics.queue_events.add(count as i64);
        inner.pending.fetch_add(count, Ordering::SeqCst);

        let mut deliveries = Vec::with_capacity(count);
        for (permit, event) in permits.zip(events) {
            let (reply, outcome) = oneshot::channel();
            deliveries.push(Delivery {
                event_id: event.event_id,
                entity_key: event.entity_key.clone(),
                outcome,
            });
            permit.send(Queued {
                event,
                traceparent: traceparent.clone(),
                reply,
            });
        }
        Ok(deliveries)
    }

    fn count_full(&self, policy: FullQueuePolicy, outcome: &str, waited: Option<Duration>) {
        let metrics = &self.inner.metrics;
        metrics.queue_full.with_label_values(&[policy.label(), outcome]).inc();
        if let Some(waited) = waited {
            metrics.queue_wait.observe(waited.as_secs_f64());
        }
    }

    /// Waits up to `timeout` until every accepted event is acknowledged by
    /// Kafka or has failed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        let deadline = Instant::now() + timeout;
        loop {
            let pending = self.inner.pending.load(Ordering::SeqCst);
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(PublishError::FlushTimeout { pending, timeout });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Number of events in the queue, not yet handed to librdkafka.
    pub fn queued(&self) -> usize {
        self.inner.queue.max_capacity() - self.inner.queue.capacity()
    }

    /// Number of events accepted but not yet acknowledged or failed.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// The underlying Kafka producer, for its statistics.
    pub fn producer(&self) -> &FutureProducer {
        &self.inner.producer
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.inner.topic)
            .field("source_service", &self.inner.source_service)
            .field("queue", &self.inner.queue_config)
            .finish_non_exhaustive()
    }
}
