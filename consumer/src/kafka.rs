//! The Kafka consumer: creation with the worker's settings, the start-up
//! reachability check, rebalance handling and offset commits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{info, warn};

use crate::config::WorkerConfig;
use crate::offsets::{OffsetTracker, Partition};

/// The worker's consumer type.
pub type WorkerConsumer = StreamConsumer<WorkerContext>;

/// Errors of creating the consumer or reaching the cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaStartError {
    /// librdkafka rejected a setting.
    #[error("invalid Kafka consumer settings")]
    Settings(#[source] KafkaError),
    /// No broker responded to a metadata request in time.
    #[error("cannot reach Kafka at {bootstrap_servers} within {timeout:?}; check that it is running (`deploy/local/stack up` starts a local broker) or set kafka.\"bootstrap.servers\" (OFFLOAD_KAFKA__BOOTSTRAP_SERVERS)")]
    Unreachable {
        /// The configured bootstrap servers.
        bootstrap_servers: String,
        /// The configured timeout.
        timeout: Duration,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// The dispatch topic does not exist.
    #[error("topic `{topic}` does not exist on {bootstrap_servers}; create it (`deploy/local/stack up` creates the local topics) or set topics.dispatch (OFFLOAD_TOPICS__DISPATCH)")]
    MissingTopic {
        /// The dispatch topic.
        topic: String,
        /// The configured bootstrap servers.
        bootstrap_servers: String,
    },
}

/// Consumer callbacks: commits finished offsets of revoked partitions before
/// they are released, and logs rebalances and failed commits.
pub struct WorkerContext {
    tracker: Arc<Mutex<OffsetTracker>>,
}

impl ClientContext for WorkerContext {}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(revoked) => {
                let elements = revoked.elements();
                let partitions: Vec<(&str, i32)> = elements
                    .iter()
                    .map(|element| (element.topic(), element.partition()))
                    .collect();
                let mut tracker = self.tracker.lock().expect("offset tracker lock poisoned");
                let watermarks = tracker.watermarks(partitions.iter().copied());
                if let Err(error) = commit(consumer, &watermarks, CommitMode::Sync) {
                    warn!(%error, partitions = ?partitions, "commit of revoked partitions failed; their unfinished records will be replayed");
                }
                tracker.revoke(partitions.iter().copied());
                info!(partitions = ?partitions, "partitions revoked");
            }
            Rebalance::Assign(assigned) => {
                let partitions: Vec<i32> = assigned.elements().iter().map(|element| element.partition()).collect();
                info!(partitions = ?partitions, "partitions assigned");
            }
            Rebalance::Error(error) => warn!(%error, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(error) = result {
            warn!(%error, partitions = offsets.count(), "offset commit failed; it is retried at the next interval");
        }
    }
}

/// Creates the consumer with offload's settings and checks that the cluster
/// and the dispatch topic are reachable.
pub fn create_consumer(
    config: &WorkerConfig,
    tracker: Arc<Mutex<OffsetTracker>>,
) -> Result<WorkerConsumer, KafkaStartError> {
    let mut client = ClientConfig::new();
    client
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky");
    for (key, value) in &config.kafka {
        client.set(key, value.to_string());
    }
    // The worker stores and commits offsets itself, after the work is done.
    client
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");

    let consumer: WorkerConsumer = client
        .create_with_context(WorkerContext { tracker })
        .map_err(KafkaStartError::Settings)?;

    check_topic(&consumer, config)?;
    Ok(consumer)
}

fn check_topic(consumer: &WorkerConsumer, config: &WorkerConfig) -> Result<(), KafkaStartError> {
    let bootstrap_servers = config
        .kafka
        .get("bootstrap.servers")
        .map(ToString::to_string)
        .unwrap_or_default();
    let timeout = Duration::from_secs(config.worker.kafka_connect_timeout_secs);
    let topic = &config.topics.dispatch;

    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|source| KafkaStartError::Unreachable {
            bootstrap_servers: bootstrap_servers.clone(),
            timeout,
            source,
        })?;
    let exists = metadata
        .topics()
        .iter()
        .any(|found| found.name() == topic && found.error().is_none() && !found.partitions().is_empty());
    if !exists {
        return Err(KafkaStartError::MissingTopic {
            topic: topic.clone(),
            bootstrap_servers,
        });
    }
    Ok(())
}

/// Commits `offsets` (the next offset to consume of each partition).
pub fn commit<C: Consumer<WorkerContext>>(
    consumer: &C,
    offsets: &[(Partition, i64)],
    mode: CommitMode,
) -> KafkaResult<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut list = TopicPartitionList::with_capacity(offsets.len());
    for ((topic, partition), offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&list, mode)
}
