//! Reads the demo's rows back and compares them with the plan.

use std::collections::BTreeMap;

use scylla::client::session::Session;
use scylla::value::Counter;

use crate::requests::Plan;

/// What the comparison found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) counters_checked: usize,
    pub(crate) counters_wrong: usize,
    pub(crate) comments_checked: usize,
    pub(crate) comments_wrong: usize,
    /// One line per difference.
    pub(crate) problems: Vec<String>,
}

impl Report {
    pub(crate) fn passed(&self) -> bool {
        self.counters_wrong == 0 && self.comments_wrong == 0
    }
}

/// Compares every counter and comment row of `run_id` with the plan.
pub(crate) async fn check(session: &Session, keyspace: &str, run_id: &str, plan: &Plan) -> anyhow::Result<Report> {
    let mut report = Report::default();

    let rows = session
        .query_unpaged(
            format!("SELECT user_id, likes_received, comments_received, followers, following FROM {keyspace}.user_counters WHERE run_id = ?"),
            (run_id,),
        )
        .await?
        .into_rows_result()?;
    let mut found: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    type CounterRow = (
        String,
        Option<Counter>,
        Option<Counter>,
        Option<Counter>,
        Option<Counter>,
    );
    for row in rows.rows::<CounterRow>()? {
        let (user, likes, comments, followers, following) = row?;
        let value = |counter: Option<Counter>| counter.map_or(0, |counter| counter.0);
        found.insert(
            user,
            [value(likes), value(comments), value(followers), value(following)],
        );
    }
    for (user, expected) in &plan.counters {
        report.counters_checked += 1;
        let actual = found.remove(user).unwrap_or_default();
        if actual != *expected {
            report.counters_wrong += 1;
            report.problems.push(format!(
                "{user}: counters {actual:?}, expected {expected:?} (likes, comments, followers, following)"
            ));
        }
    }
    for (user, actual) in found {
        report.counters_wrong += 1;
        report.problems.push(format!("{user}: unexpected counters {actual:?}"));
    }

    for ((post, comment_id), (author, body)) in &plan.comments {
        report.comments_checked += 1;
        let row = session
            .query_unpaged(
                format!("SELECT author_id, body FROM {keyspace}.comments WHERE run_id = ? AND post_id = ? AND comment_id = ?"),
                (run_id, post, comment_id),
            )
            .await?
            .into_rows_result()?
            .maybe_first_row::<(String, String)>()?;
        if row.as_ref() != Some(&(author.clone(), body.clone())) {
            report.comments_wrong += 1;
            report
                .problems
                .push(format!("{post} comment {comment_id}: found {row:?}"));
        }
    }
    Ok(report)
}
