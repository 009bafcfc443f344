//! Settings of a [`crate::Publisher`].

use std::collections::BTreeMap;
use std::time::Duration;

/// Settings of a [`crate::Publisher`].
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
    /// The in-memory queue between `dispatch()` and Kafka.
    pub queue: QueueConfig,
    /// URL of a Confluent-compatible schema registry. When set, records use
    /// the Confluent wire format and the schema is registered under
    /// `<topic>-value`; [`crate::Publisher::connect`] is then required.
    pub schema_registry_url: Option<String>,
    /// Timeout of one schema registry call.
    pub schema_registry_timeout: Duration,
    /// Registry to add the producer's metrics to, usually the one the
    /// service exports; `None` uses a registry of the publisher's own.
    pub metrics_registry: Option<prometheus::Registry>,
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
            queue: QueueConfig::default(),
            schema_registry_url: None,
            schema_registry_timeout: Duration::from_secs(10),
            metrics_registry: None,
        }
    }
}

/// Size of the in-memory queue and what `dispatch()` does when it is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Maximum number of events in the queue. Events that
    /// librdkafka already accepted are no longer in it.
    pub capacity: usize,
    /// The policy of a dispatch that finds no room for all its events.
    pub when_full: FullQueuePolicy,
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            capacity: 10_000,
            when_full: FullQueuePolicy::Wait {
                max_wait: Duration::from_millis(100),
            },
        }
    }
}

/// The behaviour of a dispatch that finds the queue full. Neither policy
/// drops anything silently, because a dispatch that gets no room returns
/// [`crate::DispatchError::QueueFull`] with its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullQueuePolicy {
    /// Wait for room up to `max_wait`, then fail.
    Wait {
        /// Maximum time a dispatch waits for room.
        max_wait: Duration,
    },
    /// Fail at once.
    Fail,
}

impl FullQueuePolicy {
    /// Returns the value of the `policy` metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            FullQueuePolicy::Wait { .. } => "wait",
            FullQueuePolicy::Fail => "fail",
        }
    }
}
