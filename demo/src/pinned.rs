//! Reads the record at a partition's committed offset: after a kill, its
//! entity is the one whose unfinished event held the commit back.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

/// Returns the key of the record at `offset` of `partition`, or `None`
/// when it cannot be read within `timeout` (for example at the log end).
pub fn key_at(bootstrap_servers: &str, topic: &str, partition: i32, offset: i64, timeout: Duration) -> Option<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", "offload-demo-diagnostics")
        .set("enable.auto.commit", "false")
        .create()
        .ok()?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(offset))
        .ok()?;
    consumer.assign(&assignment).ok()?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) if message.offset() == offset => {
                return message.key().map(|key| String::from_utf8_lossy(key).into_owned());
            }
            Some(Ok(_)) | Some(Err(_)) | None => {}
        }
    }
    None
}
