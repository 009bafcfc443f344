//! The consume limit: a consumer with the worker's librdkafka settings that
//! reads the backlog and does nothing with it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};

use crate::process_stats;
use crate::rate::Rate;

/// Settings `offload_consumer::kafka::create_consumer` applies before the
/// `[kafka]` table of the worker's configuration.
/// The worker's prefetch bounds apply per partition, because it reads a
/// queue per partition; here they bound the one consumer queue.
const WORKER_DEFAULTS: [(&str, &str); 5] = [
    ("auto.offset.reset", "earliest"),
    ("partition.assignment.strategy", "cooperative-sticky"),
    ("statistics.interval.ms", "5000"),
    ("queued.min.messages", "20000"),
    ("queued.max.messages.kbytes", "4096"),
];

/// Settings `offload_consumer::kafka::create_consumer` applies after the
/// `[kafka]` table, because the worker stores and commits offsets itself.
const WORKER_OVERRIDES: [(&str, &str); 2] = [("enable.auto.commit", "false"), ("enable.auto.offset.store", "false")];

/// Results of the raw consumer.
#[derive(Debug, Clone, Copy)]
pub struct ConsumeRun {
    /// Records received, from the subscription to the last record.
    pub rate: Rate,
    /// Time from the subscription to the first record: joining the group
    /// and the first fetch.
    pub first_record_after: Duration,
    /// CPU time the harness process used meanwhile: librdkafka's share of
    /// the work, to compare with the worker's CPU time per event.
    pub cpu_time: Duration,
}

/// Joins new group `group` with `kafka_settings` (the worker's `[kafka]`
/// table), reads `topic` from the beginning until `expected` records
/// arrived, and fails after `timeout`.
pub async fn measure(
    kafka_settings: &[(String, String)],
    group: &str,
    topic: &str,
    expected: u64,
    timeout: Duration,
) -> anyhow::Result<ConsumeRun> {
    let consumer = create(kafka_settings, group)?;
    let cpu_before = process_stats::cpu_time(std::process::id())?;
    let started = Instant::now();
    consumer
        .subscribe(&[topic])
        .with_context(|| format!("subscribing the raw consumer to {topic} failed"))?;

    let deadline = started + timeout;
    let mut received = 0;
    let mut first_record_after = None;
    while received < expected {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = match tokio::time::timeout(remaining, consumer.recv()).await {
            Ok(message) => message,
            Err(_elapsed) => {
                bail!("the raw consumer received {received} of {expected} records within {timeout:?}; raise --consume-timeout-secs")
            }
        };
        message.context("the raw consumer failed to receive a record")?;
        first_record_after.get_or_insert_with(|| started.elapsed());
        received += 1;
    }

    let elapsed = started.elapsed();
    let cpu_time = process_stats::cpu_time(std::process::id())?.saturating_sub(cpu_before);
    Ok(ConsumeRun {
        rate: Rate::new(received, elapsed),
        first_record_after: first_record_after.unwrap_or_default(),
        cpu_time,
    })
}

fn create(kafka_settings: &[(String, String)], group: &str) -> anyhow::Result<StreamConsumer> {
    let mut client = ClientConfig::new();
    for (key, value) in WORKER_DEFAULTS {
        client.set(key, value);
    }
    for (key, value) in kafka_settings {
        client.set(key, value);
    }
    for (key, value) in WORKER_OVERRIDES {
        client.set(key, value);
    }
    client.set("group.id", group);
    client.create().context("creating the raw consumer failed")
}
