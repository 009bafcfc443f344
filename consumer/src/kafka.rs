//! The Kafka consumer: creation with the worker's settings, the start-up
//! reachability check, rebalance handling (which opens and closes the
//! partition queues), lag reporting and offset commits.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::OwnedMessage;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::Notify;
use tracing::warn;

use crate::config::WorkerConfig;
use crate::partition_queues::PartitionQueues;
use crate::scheduler::{Partition, Scheduler};
use crate::telemetry::Telemetry;

/// The worker's consumer type. The run loop polls it without blocking and
/// awaits [`Shared::wake`], which its queues notify when events or records
/// arrive.
pub type WorkerConsumer = BaseConsumer<WorkerContext>;

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
    /// The dispatch, dead-letter or push-feedback topic does not exist.
    #[error("topic `{topic}` does not exist on {bootstrap_servers}; create it (`offload-admin create-topic --bootstrap-servers {bootstrap_servers} --name {topic}`; `deploy/local/stack up` creates the local topics) or set {key} ({variable})")]
    MissingTopic {
        /// The missing topic.
        topic: String,
        /// The configuration key that names it, such as `topics.dead_letter`.
        key: &'static str,
        /// The environment variable that overrides the key.
        variable: &'static str,
        /// The configured bootstrap servers.
        bootstrap_servers: String,
    },
}

/// State shared by the run loop, the event tasks and the rebalance callbacks.
pub struct Shared {
    /// Ordering and progress of the owned partitions.
    pub scheduler: Mutex<Scheduler<OwnedMessage>>,
    /// Notified when a record of a draining partition finishes or is abandoned.
    pub finished: Condvar,
    /// The record queue of every owned partition.
    pub queues: PartitionQueues,
    /// Wakes the run loop: events or records arrived, or a partition
    /// requested an early commit.
    pub wake: Arc<Notify>,
    /// Held from reading the offsets to commit until Kafka returned the result, so a
    /// revoke's or shutdown's final commit never races an older interval
    /// commit that could land after it and move the offset backwards.
    commit_lock: Mutex<()>,
}

impl Shared {
    /// Creates the state for a worker that owns no partition yet.
    pub fn new(key_parallelism: bool, window: usize) -> Shared {
        let wake = Arc::new(Notify::new());
        Shared {
            queues: PartitionQueues::new(Arc::clone(&wake)),
            wake,
            scheduler: Mutex::new(Scheduler::new(key_parallelism, window)),
            finished: Condvar::new(),
            commit_lock: Mutex::new(()),
        }
    }

    /// Locks the scheduler.
    pub fn lock(&self) -> MutexGuard<'_, Scheduler<OwnedMessage>> {
        self.scheduler.lock().expect("scheduler lock poisoned")
    }

    fn lock_commits(&self) -> MutexGuard<'_, ()> {
        self.commit_lock.lock().expect("commit lock poisoned")
    }
}

/// Consumer callbacks: on revoke, lets running records of the revoked
/// partitions finish (up to a deadline) and commits their offsets before the
/// partitions are released; reports lag from librdkafka's statistics.
pub struct WorkerContext {
    shared: Arc<Shared>,
    telemetry: Telemetry,
    revoke_timeout: Duration,
    topic: String,
}

impl ClientContext for WorkerContext {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let owned = self.shared.lock().owned_partitions();
        for (_, partition) in owned {
            let Some(stats) = topic.partitions.get(&partition) else {
                continue;
            };
            // librdkafka reports -1001 (invalid) until the offsets are known.
            if stats.hi_offset < 0 {
                continue;
            }
            let position = stats.committed_offset.max(stats.lo_offset);
            self.telemetry
                .consumer_lag(&self.topic, partition, (stats.hi_offset - position).max(0));
        }
    }
}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(revoked) => self.release(consumer, &partitions_of(revoked)),
            Rebalance::Assign(assigned) => {
                let partitions = partitions_of(assigned);
                if partitions.is_empty() {
                    return;
                }
                self.shared.lock().assign(&partitions);
                self.shared.queues.open(&partitions);
                self.telemetry.partitions_assigned(&partitions);
            }
            Rebalance::Error(error) => warn!(%error, "rebalance failed"),
        }
    }
}

impl WorkerContext {
    fn release(&self, consumer: &BaseConsumer<Self>, partitions: &[Partition]) {
        let deadline = Instant::now() + self.revoke_timeout;
        let (watermarks, abandoned) = block_in_place_if_possible(|| {
            let mut scheduler = self.shared.lock();
            scheduler.begin_drain(partitions);
            while scheduler.running(partitions) > 0 {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break;
                }
                scheduler = self
                    .shared
                    .finished
                    .wait_timeout(scheduler, remaining)
                    .expect("scheduler lock poisoned")
                    .0;
            }
            let abandoned = scheduler.running(partitions);
            (scheduler.revoke(partitions), abandoned)
        });

        // The partitions are released when this callback returns, so this
        // commit is synchronous.
        let _serial = block_in_place_if_possible(|| self.shared.lock_commits());
        match commit(consumer, &watermarks, CommitMode::Sync) {
            Ok(()) => self.telemetry.committed(watermarks.len()),
            Err(error) => self.telemetry.commit_failed(&error.to_string(), watermarks.len()),
        }
        self.shared.queues.close(partitions);
        self.telemetry.partitions_revoked(partitions, abandoned);
    }
}

/// Runs a blocking wait without stalling other tasks on a multi-thread
/// runtime. Rebalance callbacks run inside the run loop's poll.
pub(crate) fn block_in_place_if_possible<R>(wait: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<Partition> {
    list.elements()
        .iter()
        .map(|element| (element.topic().to_string(), element.partition()))
        .collect()
}

/// Creates the consumer with offload's settings and checks that the cluster
/// is reachable and that the topics the worker reads and writes exist.
pub fn create_consumer(
    config: &WorkerConfig,
    shared: Arc<Shared>,
    telemetry: Telemetry,
) -> Result<Arc<WorkerConsumer>, KafkaStartError> {
    let mut client = ClientConfig::new();
    client
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("statistics.interval.ms", "5000")
        // Prefetch bounds. Each partition has its own queue, so they apply
        // per partition: librdkafka stops fetching a partition whose queue
        // contains this many records or kilobytes (the defaults are 100,000
        // records and 64 MiB).
        .set("queued.min.messages", "20000")
        .set("queued.max.messages.kbytes", "4096");
    for (key, value) in &config.kafka {
        client.set(key, value.to_string());
    }
    // The worker stores and commits offsets itself, after the work is done.
    client
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");

    let shared_wake = Arc::clone(&shared.wake);
    let context = WorkerContext {
        shared,
        telemetry,
        revoke_timeout: config.worker.revoke_timeout(),
        topic: config.topics.dispatch.clone(),
    };
    let mut consumer: WorkerConsumer = client.create_with_context(context).map_err(KafkaStartError::Settings)?;
    let wake = Arc::clone(&shared_wake);
    consumer.set_nonempty_callback(move || wake.notify_one());
    let consumer = Arc::new(consumer);
    consumer.context().shared.queues.bind(&consumer);

    let topics = &config.topics;
    check_topic(
        &consumer,
        config,
        &topics.dispatch,
        "topics.dispatch",
        "OFFLOAD_TOPICS__DISPATCH",
    )?;
    check_topic(
        &consumer,
        config,
        &topics.dead_letter,
        "topics.dead_letter",
        "OFFLOAD_TOPICS__DEAD_LETTER",
    )?;
    // Only push actions publish feedback records.
    if config.apns.is_some() || config.fcm.is_some() {
        check_topic(
            &consumer,
            config,
            &topics.push_feedback,
            "topics.push_feedback",
            "OFFLOAD_TOPICS__PUSH_FEEDBACK",
        )?;
    }
    Ok(consumer)
}

/// Checks that `topic`, named by configuration `key`, exists with partitions.
fn check_topic(
    consumer: &WorkerConsumer,
    config: &WorkerConfig,
    topic: &str,
    key: &'static str,
    variable: &'static str,
) -> Result<(), KafkaStartError> {
    let bootstrap_servers = config
        .kafka
        .get("bootstrap.servers")
        .map(ToString::to_string)
        .unwrap_or_default();
    let timeout = Duration::from_secs(config.worker.kafka_connect_timeout_secs);

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
            topic: topic.to_string(),
            key,
            variable,
            bootstrap_servers,
        });
    }
    Ok(())
}

/// Commits the watermarks Kafka has not confirmed yet, waits for the result
/// and records them as confirmed in the scheduler, so the same offsets are
/// not sent again and full partitions whose replay span shrank to half the
/// window are readable again. Blocks for a round trip to the group
/// coordinator. The run loop wakes when the task running it ends, reads the
/// reopened partitions and starts the next commit if one is still requested.
///
/// librdkafka reports the result of an asynchronous commit only to a commit
/// callback set with `rd_kafka_conf_set_offset_commit_cb` or to a reply
/// queue, and rdkafka 0.39's `CommitMode::Async` sets neither, so its
/// `ConsumerContext::commit_callback` never runs for it. A synchronous
/// commit returns the result, so the run loop calls this on a blocking thread.
pub fn commit_due<C: Consumer<WorkerContext>>(consumer: &C, shared: &Shared, telemetry: &Telemetry) {
    let _serial = shared.lock_commits();
    let due = shared.lock().committable();
    if due.is_empty() {
        return;
    }
    match commit(consumer, &due, CommitMode::Sync) {
        Ok(()) => {
            telemetry.committed(due.len());
            let mut scheduler = shared.lock();
            for (partition, offset) in &due {
                scheduler.confirm(partition, *offset);
            }
            scheduler.refresh_commit_request(true);
        }
        Err(error) => {
            telemetry.commit_failed(&error.to_string(), due.len());
            shared.lock().refresh_commit_request(false);
        }
    }
}

/// Commits a shutdown's final watermarks, after any interval commit still
/// waiting for its result.
pub fn commit_final<C: Consumer<WorkerContext>>(
    consumer: &C,
    shared: &Shared,
    telemetry: &Telemetry,
    offsets: &[(Partition, i64)],
) {
    let _serial = shared.lock_commits();
    match commit(consumer, offsets, CommitMode::Sync) {
        Ok(()) => telemetry.committed(offsets.len()),
        Err(error) => telemetry.commit_failed(&error.to_string(), offsets.len()),
    }
}

/// Commits `offsets` (the next offset to consume of each partition).
fn commit<C: Consumer<WorkerContext>>(consumer: &C, offsets: &[(Partition, i64)], mode: CommitMode) -> KafkaResult<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut list = TopicPartitionList::with_capacity(offsets.len());
    for ((topic, partition), offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&list, mode)
}
