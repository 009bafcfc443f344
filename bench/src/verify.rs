//! Checks after the worker run: every event wrote its row with the right
//! values, and nothing went to the dead-letter topic.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

use crate::backlog::Backlog;

/// Token ranges the row count is split into. Each range is counted by its
/// own query, so no single query scans the whole table.
const COUNT_RANGES: i64 = 64;

/// Range counts running at once.
const COUNT_CONCURRENCY: usize = 4;

/// Rows read back by primary key to compare their values.
const SAMPLED_ROWS: u64 = 200;

/// Client-side timeout of one range count.
const COUNT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Results of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows in the worker's table.
    pub rows: u64,
    /// Rows read back by key and compared with their event.
    pub sampled: u64,
    /// Sampled rows that were missing or held other values.
    pub sampled_wrong: u64,
    /// Records in the dead-letter topic.
    pub dead_letters: i64,
}

impl Verification {
    /// Returns whether the table contains exactly one correct row per event
    /// and no event was dead-lettered.
    pub fn passed(&self, events: u64) -> bool {
        self.rows == events && self.sampled_wrong == 0 && self.dead_letters == 0
    }
}

/// Counts the rows of `keyspace.table`, compares a sample with `backlog`
/// and counts the records of `dead_letter_topic`. Fails after `timeout`.
pub async fn check(
    backlog: &Backlog,
    contact_point: &str,
    keyspace: &str,
    table: &str,
    bootstrap_servers: &str,
    dead_letter_topic: &str,
    timeout: Duration,
) -> anyhow::Result<Verification> {
    let started = Instant::now();
    let session = connect(contact_point).await?;
    let counted = tokio::time::timeout(timeout, count_rows(&session, keyspace, table)).await;
    let rows = counted.with_context(|| format!("counting the rows of {keyspace}.{table} took over {timeout:?}"))??;

    let remaining = timeout.saturating_sub(started.elapsed());
    let compared = tokio::time::timeout(remaining, compare_sample(&session, backlog, keyspace, table)).await;
    let (sampled, sampled_wrong) = compared.context("reading the sampled rows back timed out")??;

    let ends = offload_consumer::lag::log_end_offsets(bootstrap_servers, dead_letter_topic, Duration::from_secs(10))
        .with_context(|| format!("reading the log end of {dead_letter_topic} failed"))?;

    Ok(Verification {
        rows,
        sampled,
        sampled_wrong,
        dead_letters: ends.iter().sum(),
    })
}

async fn connect(contact_point: &str) -> anyhow::Result<Session> {
    let profile = ExecutionProfile::builder()
        .request_timeout(Some(COUNT_REQUEST_TIMEOUT))
        .build();
    SessionBuilder::new()
        .known_node(contact_point)
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .with_context(|| format!("connecting to Cassandra at {contact_point} failed"))
}

/// Counts rows by Murmur3 token range: `(start, end]` for consecutive
/// boundaries from `i64::MIN` to `i64::MAX`. No key hashes to `i64::MIN`,
/// which Cassandra reserves as the minimum token.
async fn count_rows(session: &Session, keyspace: &str, table: &str) -> anyhow::Result<u64> {
    let cql = format!("SELECT COUNT(*) FROM {keyspace}.{table} WHERE token(entity) > ? AND token(entity) <= ?");
    let statement = session.prepare(cql.as_str()).await?;
    let counts: Vec<i64> = futures::stream::iter(token_ranges(COUNT_RANGES))
        .map(|(start, end)| {
            let statement = &statement;
            async move {
                let result = session.execute_unpaged(statement, (start, end)).await?;
                let (count,) = result.into_rows_result()?.single_row::<(i64,)>()?;
                anyhow::Ok(count)
            }
        })
        .buffer_unordered(COUNT_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(counts.iter().sum::<i64>() as u64)
}

/// Splits the token ring into `parts` consecutive `(start, end]` ranges.
fn token_ranges(parts: i64) -> Vec<(i64, i64)> {
    let width = (u64::MAX / parts as u64) as i128;
    let mut ranges = Vec::with_capacity(parts as usize);
    let mut start = i64::MIN as i128;
    for part in 0..parts {
        let end = if part == parts - 1 {
            i64::MAX as i128
        } else {
            start + width
        };
        ranges.push((start as i64, end as i64));
        start = end;
    }
    ranges
}

/// Reads back every n-th event's row and compares its body. Returns
/// (sampled, wrong).
async fn compare_sample(
    session: &Session,
    backlog: &Backlog,
    keyspace: &str,
    table: &str,
) -> anyhow::Result<(u64, u64)> {
    let cql = format!("SELECT body FROM {keyspace}.{table} WHERE entity = ? AND seq = ?");
    let statement = session.prepare(cql.as_str()).await?;
    let stride = (backlog.events / SAMPLED_ROWS).max(1);
    let mut sampled = 0;
    let mut wrong = 0;
    for index in (0..backlog.events).step_by(stride as usize) {
        let expected = backlog.row(index);
        let result = session
            .execute_unpaged(&statement, (&expected.entity, expected.seq))
            .await?
            .into_rows_result()?;
        let body = result.maybe_first_row::<(String,)>()?.map(|(body,)| body);
        sampled += 1;
        if body.as_deref() != Some(expected.body.as_str()) {
            wrong += 1;
        }
    }
    if sampled == 0 && backlog.events > 0 {
        bail!("no row was sampled from {keyspace}.{table}");
    }
    Ok((sampled, wrong))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ranges_cover_the_ring_without_gaps() {
        let ranges = token_ranges(64);

        assert_eq!(ranges.len(), 64);
        assert_eq!(ranges[0].0, i64::MIN);
        assert_eq!(ranges[63].1, i64::MAX);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "{pair:?}");
            assert!(pair[0].0 < pair[0].1, "{pair:?}");
        }
    }

    #[test]
    fn verification_fails_on_a_dead_letter() {
        let verification = Verification {
            rows: 10,
            sampled: 10,
            sampled_wrong: 0,
            dead_letters: 1,
        };

        assert!(!verification.passed(10));
    }
}
