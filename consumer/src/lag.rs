//! Consumer-group lag of a topic: committed offset against log end, per partition.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};

/// Progress of a consumer group on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if it has committed one.
    pub committed: Option<i64>,
    /// The earliest offset still in the log.
    pub log_start: i64,
    /// The offset the next record will get.
    pub log_end: i64,
}

impl PartitionLag {
    /// Records not yet finished by the group: log end minus
    /// max(committed, log start).
    pub fn lag(&self) -> i64 {
        let position = self.committed.unwrap_or(self.log_start).max(self.log_start);
        (self.log_end - position).max(0)
    }
}

/// Reads the committed offsets of `group` and the watermarks of every
/// partition of `topic`, without joining the group.
pub fn group_lag(
    bootstrap_servers: &str,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> KafkaResult<Vec<PartitionLag>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;

    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|found| found.name() == topic)
        .flat_map(|found| found.partitions().iter().map(|partition| partition.id()))
        .collect();

    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        list.add_partition(topic, *partition);
    }
    let committed = consumer.committed_offsets(list, timeout)?;

    let mut lags = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (log_start, log_end) = consumer.fetch_watermarks(topic, partition, timeout)?;
        let committed = committed
            .find_partition(topic, partition)
            .and_then(|element| match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            });
        lags.push(PartitionLag {
            partition,
            committed,
            log_start,
            log_end,
        });
    }
    Ok(lags)
}

/// Reads the log-end offset of every partition of `topic`, by partition.
/// Unlike [`group_lag`] it needs no group coordinator.
pub fn log_end_offsets(bootstrap_servers: &str, topic: &str, timeout: Duration) -> KafkaResult<Vec<i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|found| found.name() == topic)
        .flat_map(|found| found.partitions().iter().map(|partition| partition.id()))
        .collect();
    partitions.sort_unstable();

    partitions
        .into_iter()
        .map(|partition| Ok(consumer.fetch_watermarks(topic, partition, timeout)?.1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_from_committed_offset() {
        let lag = PartitionLag {
            partition: 0,
            committed: Some(7),
            log_start: 0,
            log_end: 10,
        };

        assert_eq!(lag.lag(), 3);
    }

    #[test]
    fn lag_ignores_committed_offset_below_log_start() {
        let lag = PartitionLag {
            partition: 0,
            committed: Some(2),
            log_start: 5,
            log_end: 10,
        };

        assert_eq!(lag.lag(), 5);
    }

    #[test]
    fn lag_without_commit_counts_whole_log() {
        let lag = PartitionLag {
            partition: 0,
            committed: None,
            log_start: 4,
            log_end: 10,
        };

        assert_eq!(lag.lag(), 6);
    }
}
