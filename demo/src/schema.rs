//! The demo's tables and the worker's statement catalog for them.
//!
//! Every partition key starts with the run id, so runs never mix and
//! earlier runs need no clean-up.

use scylla::client::session::Session;

/// Counter columns of `user_counters` (totals per user).
pub const USER_TOTALS: [&str; 5] = ["likes_received", "comments_received", "followers", "following", "posts"];

/// Counter columns of `user_weekly` (per user and ISO week).
pub const USER_WEEKLY: [&str; 5] = [
    "likes_received",
    "comments_received",
    "new_followers",
    "unfollowers",
    "posts",
];

/// Counter tables and their counter columns, for verification.
pub const COUNTER_TABLES: [&str; 6] = [
    "user_counters",
    "user_weekly",
    "analytics_daily",
    "analytics_annual",
    "request_log_daily",
    "request_log_hourly",
];

/// Creates the keyspace and tables when missing.
pub async fn create(session: &Session, keyspace: &str) -> anyhow::Result<()> {
    let totals = counter_columns(&USER_TOTALS);
    let weekly = counter_columns(&USER_WEEKLY);
    let statements = [
        format!(
            "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.user_counters (run_id text, user_id uuid, {totals}, \
             PRIMARY KEY ((run_id, user_id)))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.user_weekly (run_id text, user_id uuid, week text, {weekly}, \
             PRIMARY KEY ((run_id, user_id), week))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.analytics_daily (run_id text, metric text, scope text, \
             day text, value counter, PRIMARY KEY ((run_id, metric, scope), day))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.analytics_annual (run_id text, metric text, scope text, \
             year int, value counter, PRIMARY KEY ((run_id, metric, scope), year))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.request_log_daily (run_id text, controller text, day text, \
             requests counter, PRIMARY KEY ((run_id, controller), day))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.request_log_hourly (run_id text, controller text, day text, \
             hour int, requests counter, PRIMARY KEY ((run_id, controller, day), hour))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.comments (run_id text, post_id uuid, comment_id uuid, \
             author_id uuid, created_at timestamp, PRIMARY KEY ((run_id, post_id), comment_id))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.messages (run_id text, conversation_id uuid, message_id uuid, \
             sender_id uuid, receiver_id uuid, sent_at timestamp, PRIMARY KEY ((run_id, conversation_id), message_id))"
        ),
    ];
    for statement in statements {
        session
            .query_unpaged(statement.as_str(), ())
            .await
            .map_err(|error| anyhow::anyhow!("creating the demo schema failed on `{statement}`: {error}"))?;
    }
    Ok(())
}

fn counter_columns(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| format!("{column} counter"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Name of the statement that adds to `column` of `user_counters`.
pub fn user_total_statement(column: &str) -> String {
    format!("user_total_{column}")
}

/// Name of the statement that adds to `column` of `user_weekly`.
pub fn user_weekly_statement(column: &str) -> String {
    format!("user_weekly_{column}")
}

/// Renders the `[statements.*]` tables of the worker configuration.
pub fn statement_catalog(keyspace: &str) -> String {
    let mut catalog = String::new();
    let mut add = |name: &str, cql: String, idempotent: bool| {
        catalog.push_str(&format!(
            "[statements.{name}]\ncql = \"{cql}\"\nconsistency = \"ONE\"\nidempotent = {idempotent}\n\n"
        ));
    };
    for column in USER_TOTALS {
        let cql =
            format!("UPDATE {keyspace}.user_counters SET {column} = {column} + ? WHERE run_id = ? AND user_id = ?");
        add(&user_total_statement(column), cql, false);
    }
    for column in USER_WEEKLY {
        let cql = format!(
            "UPDATE {keyspace}.user_weekly SET {column} = {column} + ? WHERE run_id = ? AND user_id = ? AND week = ?"
        );
        add(&user_weekly_statement(column), cql, false);
    }
    add(
        "analytics_daily",
        format!(
            "UPDATE {keyspace}.analytics_daily SET value = value + ? \
             WHERE run_id = ? AND metric = ? AND scope = ? AND day = ?"
        ),
        false,
    );
    add(
        "analytics_annual",
        format!(
            "UPDATE {keyspace}.analytics_annual SET value = value + ? \
             WHERE run_id = ? AND metric = ? AND scope = ? AND year = ?"
        ),
        false,
    );
    add(
        "request_log_daily",
        format!(
            "UPDATE {keyspace}.request_log_daily SET requests = requests + ? \
             WHERE run_id = ? AND controller = ? AND day = ?"
        ),
        false,
    );
    add(
        "request_log_hourly",
        format!(
            "UPDATE {keyspace}.request_log_hourly SET requests = requests + ? \
             WHERE run_id = ? AND controller = ? AND day = ? AND hour = ?"
        ),
        false,
    );
    add(
        "insert_comment",
        format!(
            "INSERT INTO {keyspace}.comments (run_id, post_id, comment_id, author_id, created_at) \
             VALUES (?, ?, ?, ?, ?)"
        ),
        true,
    );
    add(
        "insert_message",
        format!(
            "INSERT INTO {keyspace}.messages (run_id, conversation_id, message_id, sender_id, receiver_id, sent_at) \
             VALUES (?, ?, ?, ?, ?, ?)"
        ),
        true,
    );
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_toml_carries_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/local/worker.toml");
        let example = std::fs::read_to_string(path).expect("deploy/local/worker.toml is readable");
        let catalog = statement_catalog("offload_demo");
        assert!(
            example.contains(catalog.trim_end()),
            "deploy/local/worker.toml must contain the demo's catalog:\n{catalog}"
        );
    }

    #[test]
    fn worker_toml_loads_with_every_statement() {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/local/worker.toml"));
        let config = offload_consumer::WorkerConfig::load(Some(path)).expect("deploy/local/worker.toml is valid");
        let expected = USER_TOTALS.len() + USER_WEEKLY.len() + 6;
        assert_eq!(config.statements.len(), expected);
    }
}
