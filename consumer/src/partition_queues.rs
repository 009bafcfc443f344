//! One librdkafka queue per owned partition.
//!
//! The run loop reads each partition from its own queue and stops reading a
//! partition whose in-flight window is full. librdkafka keeps the records it
//! fetched for that partition and stops fetching more once the queue contains
//! `queued.min.messages` records or `queued.max.messages.kbytes` (per
//! partition, because the queues are split). Pausing the partition instead
//! would make librdkafka drop its fetched records and fetch and decompress
//! them again on resume.
//!
//! A partition's queue is split off in the assign callback, before
//! librdkafka starts fetching it, so none of its records reach the consumer
//! queue. It is dropped in the revoke callback, so a later assignment of the
//! same partition gets a new queue and never shares it with an old reader.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use rdkafka::consumer::base_consumer::PartitionQueue;
use tokio::sync::Notify;
use tracing::error;

use crate::kafka::{WorkerConsumer, WorkerContext};
use crate::scheduler::Partition;

/// The record queue of one partition.
pub type RecordQueue = PartitionQueue<WorkerContext>;

/// The record queues of the owned partitions.
pub struct PartitionQueues {
    /// Set once the consumer exists; weak, because the consumer owns the
    /// context that owns these queues.
    consumer: OnceLock<Weak<WorkerConsumer>>,
    /// Ordered by partition, so the run loop reads them in a stable order.
    queues: Mutex<BTreeMap<Partition, RecordQueue>>,
    /// Notified when a queue receives records after it was read empty.
    wake: Arc<Notify>,
}

impl PartitionQueues {
    /// Creates an empty set whose queues notify `wake` when records arrive.
    pub fn new(wake: Arc<Notify>) -> PartitionQueues {
        PartitionQueues {
            consumer: OnceLock::new(),
            queues: Mutex::new(BTreeMap::new()),
            wake,
        }
    }

    /// Binds the consumer whose partitions are split. Called once, before
    /// subscribing.
    pub fn bind(&self, consumer: &Arc<WorkerConsumer>) {
        let _ = self.consumer.set(Arc::downgrade(consumer));
    }

    /// Splits the records of newly assigned `partitions` into their own
    /// queues. Must run before librdkafka starts fetching them.
    pub fn open(&self, partitions: &[Partition]) {
        let Some(consumer) = self.consumer.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut queues = self.lock();
        for partition in partitions {
            let (topic, id) = partition;
            // A queue left from an earlier assignment goes first: dropping a
            // queue disables the non-empty callback of the librdkafka queue
            // it shares with a new one.
            queues.remove(partition);
            match consumer.split_partition_queue(topic, *id) {
                Some(mut queue) => {
                    let wake = Arc::clone(&self.wake);
                    queue.set_nonempty_callback(move || wake.notify_one());
                    queues.insert(partition.clone(), queue);
                    // Records that arrived before the callback was set did not
                    // notify anyone.
                    self.wake.notify_one();
                }
                // NOTE: rdkafka returns no queue only for a topic name with a
                // NUL byte or when librdkafka cannot create the partition's
                // local state. Its records then arrive on the consumer queue,
                // and the run loop accepts them from there without a window.
                None => error!(topic = %topic, partition = id, "splitting a partition's record queue failed"),
            }
        }
    }

    /// Drops the queues of revoked `partitions`.
    pub fn close(&self, partitions: &[Partition]) {
        let mut queues = self.lock();
        for partition in partitions {
            queues.remove(partition);
        }
    }

    /// Drops every queue, ahead of closing the consumer (each queue keeps a
    /// reference to it).
    pub fn close_all(&self) {
        self.lock().clear();
    }

    /// Locks the queues, to read them.
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<Partition, RecordQueue>> {
        self.queues.lock().expect("partition queues lock poisoned")
    }
}
