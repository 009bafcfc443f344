//! Reads every row of the run back from Cassandra and every notification
//! back from the stand-ins, and compares them with the expected values.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::value::{CqlValue, Row};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::events::{REQUEST_ID_FIELD, RUN_ID_FIELD};
use crate::expected::{CounterCell, Expected};
use crate::schema::{COUNTER_TABLES, USER_TOTALS, USER_WEEKLY};

/// Counter columns that receive negative deltas (unfollows), so a replayed
/// update can move them either way.
const TWO_WAY_COLUMNS: [&str; 2] = ["followers", "following"];

/// Comparison of one counter table.
#[derive(Debug, Default, Clone)]
pub struct TableCheck {
    /// Cells expected or found.
    pub cells: usize,
    /// Cells equal to the expected value.
    pub exact: usize,
    /// Sum of the amounts by which cells exceed the expected value.
    pub overshoot: i64,
    /// Sum of the amounts by which cells fall short of the expected value.
    pub undershoot: i64,
    /// Cells below the expected value in a column that only ever grows:
    /// lost updates, never explained by replays.
    pub lost: usize,
}

/// Comparison of a table of inserted rows.
#[derive(Debug, Default, Clone)]
pub struct RowCheck {
    /// Rows expected.
    pub expected: usize,
    /// Expected rows found with the expected values.
    pub exact: usize,
    /// Rows missing or with other values.
    pub wrong: usize,
    /// Rows found that no request wrote.
    pub unexpected: usize,
}

/// Comparison of the notifications.
#[derive(Debug, Default, Clone)]
pub struct PushCheck {
    /// Notifications expected.
    pub expected: u64,
    /// Notifications recorded for this run.
    pub received: u64,
    /// Expected notifications never received.
    pub missing: u64,
    /// Notifications received more often than expected.
    pub duplicates: u64,
    /// Notifications that no request should have sent.
    pub unexpected: u64,
    /// Notifications of other runs, not compared.
    pub other_runs: u64,
}

/// Everything the verification found.
#[derive(Debug, Default)]
pub struct Report {
    /// Per counter table.
    pub tables: BTreeMap<&'static str, TableCheck>,
    /// The `comments` table.
    pub comments: RowCheck,
    /// The `messages` table.
    pub messages: RowCheck,
    /// The stand-ins' records.
    pub pushes: PushCheck,
    /// Records the dead-letter topic gained during the run.
    pub dead_letters: i64,
    /// The first differences that fail the run in any mode (lost updates,
    /// wrong rows, missing or unexpected notifications), one line each.
    pub problems: Vec<String>,
    /// The first counter cells above their expected value, one line each:
    /// a failure without kills, the cost of at-least-once delivery with them.
    pub overshoots: Vec<String>,
}

impl Report {
    /// Returns whether the run's results are right. Without `allow_replays`,
    /// every counter and notification must be exact. With it (after killed
    /// workers), counters may exceed the expected value and notifications
    /// may repeat, because delivery is at least once, but nothing may be lost.
    pub fn passed(&self, allow_replays: bool) -> bool {
        let counters_ok = self.tables.values().all(|table| {
            if allow_replays {
                table.lost == 0
            } else {
                table.exact == table.cells
            }
        });
        let rows_ok = [&self.comments, &self.messages]
            .iter()
            .all(|rows| rows.wrong == 0 && rows.unexpected == 0);
        let pushes_ok =
            self.pushes.missing == 0 && self.pushes.unexpected == 0 && (allow_replays || self.pushes.duplicates == 0);
        counters_ok && rows_ok && pushes_ok && self.dead_letters == 0
    }

    fn problem(&mut self, line: String) {
        if self.problems.len() < 20 {
            self.problems.push(line);
        }
    }
}

/// Compares the run's counter tables with `expected`.
pub async fn check_counters(
    session: &Session,
    keyspace: &str,
    run_id: &str,
    expected: &Expected,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut found: BTreeMap<CounterCell, i64> = BTreeMap::new();
    for table in COUNTER_TABLES {
        let (keys, columns): (&[&str], &[&'static str]) = match table {
            "user_counters" => (&["user_id"], &USER_TOTALS),
            "user_weekly" => (&["user_id", "week"], &USER_WEEKLY),
            "analytics_daily" => (&["metric", "scope", "day"], &["value"]),
            "analytics_annual" => (&["metric", "scope", "year"], &["value"]),
            "request_log_daily" => (&["controller", "day"], &["requests"]),
            _ => (&["controller", "day", "hour"], &["requests"]),
        };
        let statement = format!(
            "SELECT {}, {} FROM {keyspace}.{table} WHERE run_id = ? ALLOW FILTERING",
            keys.join(", "),
            columns.join(", ")
        );
        for row in read_rows(session, &statement, run_id).await? {
            let key = row.columns[..keys.len()].iter().map(text).collect::<Vec<_>>().join("|");
            for (column, value) in columns.iter().zip(&row.columns[keys.len()..]) {
                if let Some(CqlValue::Counter(counter)) = value {
                    found.insert((table, key.clone(), column), counter.0);
                }
            }
        }
    }

    let mut cells: BTreeMap<&CounterCell, (i64, i64)> = BTreeMap::new();
    for (cell, value) in &expected.counters {
        cells.entry(cell).or_default().0 = *value;
    }
    for (cell, value) in &found {
        cells.entry(cell).or_default().1 = *value;
    }
    for ((table, key, column), (want, have)) in cells {
        let check = report.tables.entry(table).or_default();
        check.cells += 1;
        if want == have {
            check.exact += 1;
            continue;
        }
        let line = format!("{table} [{key}] {column}: {have}, expected {want}");
        if have > want {
            check.overshoot += have - want;
            if report.overshoots.len() < 20 {
                report.overshoots.push(line);
            }
        } else {
            check.undershoot += want - have;
            if TWO_WAY_COLUMNS.contains(column) {
                // A replayed -1 of an unfollow: not a loss by itself.
                if report.overshoots.len() < 20 {
                    report.overshoots.push(line);
                }
            } else {
                check.lost += 1;
                report.problem(line);
            }
        }
    }
    Ok(())
}

/// Compares the run's comment and message rows with `expected`.
pub async fn check_rows(
    session: &Session,
    keyspace: &str,
    run_id: &str,
    expected: &Expected,
    report: &mut Report,
) -> anyhow::Result<()> {
    let statement = format!(
        "SELECT post_id, comment_id, author_id, created_at FROM {keyspace}.comments WHERE run_id = ? ALLOW FILTERING"
    );
    let mut comments = BTreeMap::new();
    for row in read_rows(session, &statement, run_id).await? {
        let [post, comment, author, created] = &row.columns[..] else {
            anyhow::bail!("comments: expected 4 columns, found {}", row.columns.len());
        };
        comments.insert((uuid(post), uuid(comment)), (uuid(author), millis(created)));
    }
    let mut check = compare_rows("comments", &expected.comments, comments, report);
    report.comments = std::mem::take(&mut check);

    let statement = format!(
        "SELECT conversation_id, message_id, sender_id, receiver_id, sent_at FROM {keyspace}.messages \
         WHERE run_id = ? ALLOW FILTERING"
    );
    let mut messages = BTreeMap::new();
    for row in read_rows(session, &statement, run_id).await? {
        let [conversation, message, sender, receiver, sent] = &row.columns[..] else {
            anyhow::bail!("messages: expected 5 columns, found {}", row.columns.len());
        };
        messages.insert(
            (uuid(conversation), uuid(message)),
            (uuid(sender), uuid(receiver), millis(sent)),
        );
    }
    report.messages = compare_rows("messages", &expected.messages, messages, report);
    Ok(())
}

fn compare_rows<V: PartialEq + std::fmt::Debug>(
    table: &str,
    expected: &BTreeMap<(Uuid, Uuid), V>,
    mut found: BTreeMap<(Uuid, Uuid), V>,
    report: &mut Report,
) -> RowCheck {
    let mut check = RowCheck {
        expected: expected.len(),
        ..RowCheck::default()
    };
    for (key, want) in expected {
        match found.remove(key) {
            Some(have) if have == *want => check.exact += 1,
            have => {
                check.wrong += 1;
                report.problem(format!("{table} {key:?}: found {have:?}, expected {want:?}"));
            }
        }
    }
    for (key, have) in found {
        check.unexpected += 1;
        report.problem(format!("{table} {key:?}: unexpected row {have:?}"));
    }
    check
}

async fn read_rows(session: &Session, statement: &str, run_id: &str) -> anyhow::Result<Vec<Row>> {
    let pager = session
        .query_iter(statement, (run_id,))
        .await
        .map_err(|error| anyhow::anyhow!("reading back with `{statement}` failed: {error}"))?;
    let rows = pager.rows_stream::<Row>()?.try_collect().await?;
    Ok(rows)
}

fn text(value: &Option<CqlValue>) -> String {
    match value {
        Some(CqlValue::Text(text)) => text.clone(),
        Some(CqlValue::Uuid(id)) => id.to_string(),
        Some(CqlValue::Int(number)) => number.to_string(),
        other => format!("{other:?}"),
    }
}

fn uuid(value: &Option<CqlValue>) -> Uuid {
    match value {
        Some(CqlValue::Uuid(id)) => *id,
        _ => Uuid::nil(),
    }
}

fn millis(value: &Option<CqlValue>) -> i64 {
    match value {
        Some(CqlValue::Timestamp(timestamp)) => timestamp.0,
        _ => i64::MIN,
    }
}

/// A notification as the stand-ins' control API lists it.
#[derive(Debug, Deserialize)]
pub struct RecordedPush {
    /// Position in arrival order.
    pub sequence: u64,
    /// `apns` or `fcm`.
    pub platform: String,
    /// The device token.
    pub target: String,
    /// APNs: the payload. FCM: the `message` object.
    pub body: Value,
}

/// Reads the notifications recorded after `after_sequence` from the stand-ins' control API.
pub async fn recorded_pushes(control_url: &str, after_sequence: u64) -> anyhow::Result<Vec<RecordedPush>> {
    let url = format!("{control_url}/recorded?after_sequence={after_sequence}");
    let response = reqwest::get(&url)
        .await
        .map_err(|error| anyhow::anyhow!("reading {url} failed: {error}; are the stand-ins running?"))?;
    Ok(response.error_for_status()?.json().await?)
}

/// Compares the notifications of run `run_id` recorded during the run with
/// the expected ones. Notifications of other runs (an earlier run's events
/// that its worker had not finished) are counted apart.
pub fn check_pushes(recorded: &[RecordedPush], run_id: &str, expected: &Expected, report: &mut Report) {
    let mut received: BTreeMap<(String, String), u64> = BTreeMap::new();
    for record in recorded {
        let field = |name: &str| {
            let value = match record.platform.as_str() {
                "apns" => record.body.get(name),
                _ => record.body.get("data").and_then(|data| data.get(name)),
            };
            value.and_then(Value::as_str).unwrap_or_default().to_string()
        };
        if field(RUN_ID_FIELD) != run_id {
            report.pushes.other_runs += 1;
            continue;
        }
        *received
            .entry((record.target.clone(), field(REQUEST_ID_FIELD)))
            .or_default() += 1;
    }
    let check = &mut report.pushes;
    check.expected = expected.pushes.values().sum();
    check.received = received.values().sum();
    let mut problems = Vec::new();
    for (key, want) in &expected.pushes {
        let have = received.remove(key).unwrap_or(0);
        if have < *want {
            check.missing += want - have;
            problems.push(format!(
                "push to {} for request {}: received {have}, expected {want}",
                key.0, key.1
            ));
        } else if have > *want {
            check.duplicates += have - want;
        }
    }
    for ((token, request_id), count) in received {
        check.unexpected += count;
        problems.push(format!("push to {token} for request {request_id:?}: not expected"));
    }
    for problem in problems {
        report.problem(problem);
    }
}

#[cfg(test)]
mod tests;
