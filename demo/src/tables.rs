//! The demo's tables and the worker's statement catalog for them.

use scylla::client::session::Session;

use crate::Args;

/// Creates the keyspace and tables when missing. Every row carries the run
/// id, so runs never mix and earlier runs need no clean-up.
pub(crate) async fn create(session: &Session, keyspace: &str) -> anyhow::Result<()> {
    let statements = [
        format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.user_counters (run_id text, user_id text, \
             likes_received counter, comments_received counter, followers counter, following counter, \
             PRIMARY KEY (run_id, user_id))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.comments (run_id text, post_id text, comment_id int, \
             author_id text, body text, PRIMARY KEY ((run_id, post_id), comment_id))"
        ),
    ];
    for statement in statements {
        session.query_unpaged(statement, ()).await?;
    }
    Ok(())
}

/// Renders the worker configuration for the demo.
pub(crate) fn worker_config(args: &Args) -> String {
    let keyspace = &args.keyspace;
    let counter = |column: &str| {
        format!("UPDATE {keyspace}.user_counters SET {column} = {column} + ? WHERE run_id = ? AND user_id = ?")
    };
    format!(
        r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"group.id" = "{group}"

[topics]
dispatch = "{topic}"
dead_letter = "{dead_letter}"

[cassandra]
contact_points = ["{contact_point}"]

[http]
listen_address = "127.0.0.1:0"

[statements.add_like]
cql = "{add_like}"
consistency = "ONE"

[statements.add_comment_received]
cql = "{add_comment}"
consistency = "ONE"

[statements.add_follower]
cql = "{add_follower}"
consistency = "ONE"

[statements.add_following]
cql = "{add_following}"
consistency = "ONE"

[statements.insert_comment]
cql = "INSERT INTO {keyspace}.comments (run_id, post_id, comment_id, author_id, body) VALUES (?, ?, ?, ?, ?)"
consistency = "ONE"
idempotent = true
"#,
        bootstrap = args.bootstrap_servers,
        group = args.group,
        topic = args.topic,
        dead_letter = args.dead_letter_topic,
        contact_point = args.contact_point,
        add_like = counter("likes_received"),
        add_comment = counter("comments_received"),
        add_follower = counter("followers"),
        add_following = counter("following"),
    )
}
