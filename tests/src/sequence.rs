//! A workload that records the order in which the worker applied events:
//! every event inserts a row clustered by a `now()` timeuuid, so reading an
//! entity's rows back gives its sequence numbers in application order,
//! replays included.

use std::collections::BTreeMap;

use offload_schemas::{Action, CassandraWrite, CqlValue, DispatchEvent};
use scylla::client::session::Session;
use scylla::value::CqlTimeuuid;

/// Tables of the workload; `{ks}` is replaced by the keyspace.
pub const TABLES: [&str; 1] =
    ["CREATE TABLE {ks}.applied (entity text, applied_at timeuuid, seq int, PRIMARY KEY (entity, applied_at))"];

/// The catalog statement: name, CQL (with `{ks}`) and whether it is idempotent.
pub const STATEMENT: (&str, &str, bool) = (
    "append_seq",
    "INSERT INTO {ks}.applied (entity, applied_at, seq) VALUES (?, now(), ?)",
    false,
);

/// Builds event `seq` of `entity`.
pub fn event(entity: &str, seq: usize) -> DispatchEvent {
    let write = CassandraWrite {
        statement: STATEMENT.0.into(),
        values: vec![CqlValue::Text(entity.into()), CqlValue::Int(seq as i32)],
        consistency: None,
        serial_consistency: None,
        cql: None,
        ttl_secs: None,
        timestamp_us: None,
    };
    DispatchEvent {
        event_id: uuid::Uuid::new_v4(),
        entity_key: entity.into(),
        created_at_us: 1_700_000_000_000_000 + seq as i64,
        source_service: "offload-e2e".into(),
        actions: vec![Action::CassandraWrite(write)],
    }
}

/// Events `seqs` of `entities` entities, interleaved across entities.
pub fn events(entities: usize, seqs: std::ops::Range<usize>) -> Vec<DispatchEvent> {
    let mut events = Vec::with_capacity(entities * seqs.len());
    for seq in seqs {
        for index in 0..entities {
            events.push(event(&crate::workload::entity(index), seq));
        }
    }
    events
}

/// Reads every entity's sequence numbers in the order they were applied.
pub async fn read(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, Vec<i32>>> {
    let rows = session
        .query_unpaged(format!("SELECT entity, applied_at, seq FROM {keyspace}.applied"), ())
        .await?
        .into_rows_result()?;
    let mut applied: BTreeMap<String, Vec<(CqlTimeuuid, i32)>> = BTreeMap::new();
    for row in rows.rows::<(String, CqlTimeuuid, i32)>()? {
        let (entity, at, seq) = row?;
        applied.entry(entity).or_default().push((at, seq));
    }
    Ok(applied
        .into_iter()
        .map(|(entity, mut rows)| {
            rows.sort_by_key(|(applied_at, _)| *applied_at);
            (entity, rows.into_iter().map(|(_, seq)| seq).collect())
        })
        .collect())
}

/// Checks that an entity's applied sequence respects offset order: each
/// number first appears after all smaller ones, and `0..expected` all
/// appear. Replays after a crash may repeat numbers already applied.
/// Returns the number of repeated applications.
pub fn check_order(entity: &str, applied: &[i32], expected: usize) -> Result<usize, String> {
    let mut next_new = 0;
    for (position, &seq) in applied.iter().enumerate() {
        if seq > next_new {
            return Err(format!(
                "{entity}: event {seq} was applied at position {position} before event {next_new}: {applied:?}"
            ));
        }
        if seq == next_new {
            next_new += 1;
        }
    }
    if next_new as usize != expected {
        return Err(format!(
            "{entity}: only events 0..{next_new} of 0..{expected} were applied"
        ));
    }
    Ok(applied.len() - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_sequence_passes() {
        assert_eq!(check_order("e", &[0, 1, 2], 3), Ok(0));
    }

    #[test]
    fn replayed_tail_counts_as_repeats() {
        assert_eq!(check_order("e", &[0, 1, 2, 1, 2, 3], 4), Ok(2));
    }

    #[test]
    fn skipped_event_fails() {
        assert!(check_order("e", &[0, 2, 1], 3).is_err());
    }

    #[test]
    fn missing_event_fails() {
        assert!(check_order("e", &[0, 1], 3).is_err());
    }
}
