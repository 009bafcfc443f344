//! The backlog: events with one Cassandra insert each, spread over many
//! entities, and its publication through the producer library.
//!
//! Event `i` belongs to entity `i % entities` and is that entity's event
//! number `i / entities`, so every event writes its own row and the row
//! count after the run equals the event count.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use offload_producer::{Delivery, FullQueuePolicy, Publisher, PublisherConfig, QueueConfig};
use offload_schemas::{Action, CassandraWrite, CqlValue, DispatchEvent};

use crate::rate::Rate;

/// Name of the catalog statement every event uses.
pub const STATEMENT: &str = "insert_event";

/// Table options of both tables. Automatic compaction is off: with it,
/// the compactions of the raw insert's SSTables ran during the worker's
/// drain and charged Cassandra CPU to the worker's phase.
const TABLE_OPTIONS: &str = "WITH compaction = {'class': 'SizeTieredCompactionStrategy', 'enabled': 'false'}";

/// The table the worker writes; `{ks}` stands for the keyspace.
pub fn worker_table() -> String {
    format!(
        "CREATE TABLE {{ks}}.events (entity text, seq bigint, body text, PRIMARY KEY (entity, seq)) {TABLE_OPTIONS}"
    )
}

/// A table of the same shape for the raw insert measurement, so the
/// worker's table holds only the worker's rows.
pub fn raw_table() -> String {
    format!(
        "CREATE TABLE {{ks}}.raw_events (entity text, seq bigint, body text, PRIMARY KEY (entity, seq)) {TABLE_OPTIONS}"
    )
}

/// Deliveries not yet awaited, at most, while publishing. It bounds the
/// harness's memory; the publisher's queue and librdkafka bound the rest.
const MAX_PENDING_DELIVERIES: usize = 50_000;

/// Events the publisher's in-memory queue holds in front of librdkafka.
const PUBLISHER_QUEUE_CAPACITY: usize = 10_000;

/// Returns the insert statement into `table` of `keyspace`.
pub fn insert_cql(keyspace: &str, table: &str) -> String {
    format!("INSERT INTO {keyspace}.{table} (entity, seq, body) VALUES (?, ?, ?)")
}

/// The shape of a backlog: how many events, over how many entities, with
/// how large a text column.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    /// Number of events.
    pub events: u64,
    /// Number of distinct entity keys.
    pub entities: u64,
    /// Length of the `body` column of every row, in bytes.
    pub body_bytes: usize,
    /// Creation time of event 0, in microseconds since the Unix epoch;
    /// event `i` was created `i` microseconds later.
    pub created_at_us: i64,
}

/// The values of one row: entity, sequence number within the entity, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The entity key.
    pub entity: String,
    /// The event's number within its entity.
    pub seq: i64,
    /// The text column.
    pub body: String,
}

impl Backlog {
    /// Creates a backlog whose events are created now.
    pub fn new(events: u64, entities: u64, body_bytes: usize) -> Backlog {
        let created_at_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_micros() as i64)
            .unwrap_or_default();
        Backlog {
            events,
            entities: entities.max(1),
            body_bytes,
            created_at_us,
        }
    }

    /// Returns the row that event `index` writes.
    pub fn row(&self, index: u64) -> Row {
        let entity = format!("entity-{:07}", index % self.entities);
        let seq = (index / self.entities) as i64;
        let mut body = format!("{entity}/{seq}/");
        let padding = self.body_bytes.saturating_sub(body.len());
        body.extend(std::iter::repeat_n('x', padding));
        body.truncate(self.body_bytes);
        Row { entity, seq, body }
    }

    /// Returns the write timestamp of event `index`: its creation time, in microseconds.
    pub fn timestamp_us(&self, index: u64) -> i64 {
        self.created_at_us + index as i64
    }

    /// Builds event `index`: one insert of its row.
    pub fn event(&self, index: u64) -> DispatchEvent {
        let row = self.row(index);
        let values = vec![
            CqlValue::Text(row.entity.clone()),
            CqlValue::BigInt(row.seq),
            CqlValue::Text(row.body),
        ];
        DispatchEvent {
            event_id: uuid::Uuid::new_v4(),
            entity_key: row.entity,
            created_at_us: self.timestamp_us(index),
            source_service: "offload-bench".into(),
            actions: vec![Action::CassandraWrite(CassandraWrite::new(STATEMENT, values))],
        }
    }
}

/// Publishes every event of `backlog` to `topic` and waits until Kafka
/// acknowledged each one. Fails after `timeout`.
pub async fn publish(
    backlog: &Backlog,
    bootstrap_servers: &str,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Rate> {
    publish_events(
        backlog.events,
        |index| backlog.event(index),
        bootstrap_servers,
        topic,
        timeout,
    )
    .await
}

/// Publishes events `0..count`, built by `event`, to `topic` and waits until
/// Kafka acknowledged each one. Fails after `timeout`.
pub async fn publish_events(
    count: u64,
    event: impl Fn(u64) -> DispatchEvent,
    bootstrap_servers: &str,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Rate> {
    let mut config = PublisherConfig::new(bootstrap_servers, topic, "offload-bench");
    config.queue = QueueConfig {
        capacity: PUBLISHER_QUEUE_CAPACITY,
        when_full: FullQueuePolicy::Wait { max_wait: timeout },
    };
    let publisher = Publisher::new(config)?;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pending: VecDeque<Delivery> = VecDeque::with_capacity(MAX_PENDING_DELIVERIES);
    let mut acknowledged = 0;

    for index in 0..count {
        if Instant::now() >= deadline {
            bail!("publishing the backlog timed out after {timeout:?} with {acknowledged} events acknowledged; raise --publish-timeout-secs");
        }
        let delivery = publisher
            .publish(event(index))
            .await
            .context("publishing the backlog failed")?;
        pending.push_back(delivery);
        if pending.len() >= MAX_PENDING_DELIVERIES {
            acknowledged += await_oldest(&mut pending, deadline).await?;
        }
    }
    while !pending.is_empty() {
        acknowledged += await_oldest(&mut pending, deadline).await?;
    }

    Ok(Rate::new(acknowledged, started.elapsed()))
}

async fn await_oldest(pending: &mut VecDeque<Delivery>, deadline: Instant) -> anyhow::Result<u64> {
    let Some(delivery) = pending.pop_front() else {
        return Ok(0);
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(remaining, delivery.wait())
        .await
        .context("publishing the backlog timed out; raise --publish-timeout-secs")??;
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_spreads_events_over_entities() {
        let backlog = Backlog::new(10, 4, 32);

        let first = backlog.row(1);
        let later = backlog.row(5);

        assert_eq!(first.entity, "entity-0000001");
        assert_eq!(first.seq, 0);
        assert_eq!(later.entity, "entity-0000001");
        assert_eq!(later.seq, 1);
    }

    #[test]
    fn row_body_has_the_requested_length() {
        let backlog = Backlog::new(10, 4, 100);

        let row = backlog.row(7);

        assert_eq!(row.body.len(), 100);
        assert!(row.body.starts_with("entity-0000003/1/"), "{}", row.body);
    }

    #[test]
    fn event_carries_one_insert_of_its_row() {
        let backlog = Backlog::new(10, 4, 20);

        let event = backlog.event(6);

        assert_eq!(event.entity_key, "entity-0000002");
        assert_eq!(event.created_at_us, backlog.created_at_us + 6);
        let [Action::CassandraWrite(write)] = event.actions.as_slice() else {
            panic!("expected one Cassandra write, got {:?}", event.actions);
        };
        assert_eq!(write.statement, STATEMENT);
        assert_eq!(write.values[1], CqlValue::BigInt(1));
    }
}
