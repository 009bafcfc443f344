//! A small numbered workload: every event inserts one row and bumps one
//! counter of its entity, so the results can be checked exactly.

use std::time::Duration;

use anyhow::Context;
use offload_producer::{Publisher, PublisherConfig};
use offload_schemas::{Action, CassandraWrite, CqlValue, DispatchEvent};
use scylla::client::session::Session;

use crate::stack::kafka_bootstrap;

/// Tables of the workload; `{ks}` is replaced by the keyspace.
pub const TABLES: [&str; 2] = [
    "CREATE TABLE {ks}.entity_events (entity text, seq int, body text, PRIMARY KEY (entity, seq))",
    "CREATE TABLE {ks}.entity_counts (entity text PRIMARY KEY, n counter)",
];

/// Catalog statements of the workload: name, CQL (with `{ks}` for the
/// keyspace) and whether it is idempotent.
pub const STATEMENTS: [(&str, &str, bool); 2] = [
    (
        "record_event",
        "INSERT INTO {ks}.entity_events (entity, seq, body) VALUES (?, ?, ?)",
        true,
    ),
    (
        "count_event",
        "UPDATE {ks}.entity_counts SET n = n + ? WHERE entity = ?",
        false,
    ),
];

/// Name of entity number `index`.
pub fn entity(index: usize) -> String {
    format!("entity-{index:04}")
}

/// Returns the body written for event `seq` of `entity`.
pub fn body(entity: &str, seq: usize) -> String {
    format!("{entity}/event-{seq}")
}

/// Builds event `seq` of `entity`: insert its row, add one to its counter.
pub fn event(entity: &str, seq: usize) -> DispatchEvent {
    let record = CassandraWrite {
        statement: "record_event".into(),
        values: vec![
            CqlValue::Text(entity.into()),
            CqlValue::Int(seq as i32),
            CqlValue::Text(body(entity, seq)),
        ],
        consistency: None,
        ttl_secs: None,
        timestamp_us: None,
        serial_consistency: None,
        cql: None,
    };
    let count = CassandraWrite {
        statement: "count_event".into(),
        values: vec![CqlValue::BigInt(1), CqlValue::Text(entity.into())],
        consistency: None,
        ttl_secs: None,
        timestamp_us: None,
        serial_consistency: None,
        cql: None,
    };
    DispatchEvent {
        event_id: uuid::Uuid::new_v4(),
        entity_key: entity.into(),
        created_at_us: 1_700_000_000_000_000 + seq as i64,
        source_service: "offload-e2e".into(),
        actions: vec![Action::CassandraWrite(record), Action::CassandraWrite(count)],
    }
}

/// Publishes `events_per_entity` events for each of `entities` entities,
/// interleaved across entities, and waits until Kafka acknowledged all.
pub async fn publish(topic: &str, entities: usize, events_per_entity: usize) -> anyhow::Result<()> {
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), topic, "offload-e2e"))?;
    let mut deliveries = Vec::with_capacity(entities * events_per_entity);
    for seq in 0..events_per_entity {
        for index in 0..entities {
            deliveries.push(publisher.publish(event(&entity(index), seq)).await?);
        }
    }
    for delivery in deliveries {
        tokio::time::timeout(Duration::from_secs(30), delivery.wait())
            .await
            .context("delivery timed out")??;
    }
    Ok(())
}

/// Reads the rows of `entity_events` as (entity, seq, body), sorted.
pub async fn read_events(session: &Session, keyspace: &str) -> anyhow::Result<Vec<(String, i32, String)>> {
    let mut rows: Vec<(String, i32, String)> = session
        .query_unpaged(format!("SELECT entity, seq, body FROM {keyspace}.entity_events"), ())
        .await?
        .into_rows_result()?
        .rows::<(String, i32, String)>()?
        .collect::<Result<_, _>>()?;
    rows.sort();
    Ok(rows)
}

/// Reads the counters of `entity_counts` as (entity, n), sorted.
pub async fn read_counts(session: &Session, keyspace: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let mut rows: Vec<(String, i64)> = session
        .query_unpaged(format!("SELECT entity, n FROM {keyspace}.entity_counts"), ())
        .await?
        .into_rows_result()?
        .rows::<(String, scylla::value::Counter)>()?
        .map(|row| row.map(|(entity, counter)| (entity, counter.0)))
        .collect::<Result<_, _>>()?;
    rows.sort();
    Ok(rows)
}

/// The rows `entity_events` must hold after the workload ran.
pub fn expected_events(entities: usize, events_per_entity: usize) -> Vec<(String, i32, String)> {
    let mut rows = Vec::with_capacity(entities * events_per_entity);
    for index in 0..entities {
        let name = entity(index);
        for seq in 0..events_per_entity {
            rows.push((name.clone(), seq as i32, body(&name, seq)));
        }
    }
    rows.sort();
    rows
}
