//! Raw DML: CQL text carried by an event runs only where the operator set
//! `cassandra.allow_raw_dml`, and never when it is anything but DML. The
//! same check guards the statement catalog in `--check-config`.

use std::process::Command;
use std::time::Duration;

use offload_e2e::{
    group_lags, publish_events, publish_unvalidated, read_topic, wait_for_drain, worker_binary, Scenario, WorkerProcess,
};
use offload_schemas::{Action, CassandraWrite, CqlValue, DispatchEvent};

const TABLES: [&str; 1] = ["CREATE TABLE {ks}.notes (id text PRIMARY KEY, body text, tags set<text>)"];

const STATEMENTS: [(&str, &str, bool); 1] = [("add_note", "INSERT INTO {ks}.notes (id, body) VALUES (?, ?)", true)];

fn event(seq: i64, write: CassandraWrite) -> DispatchEvent {
    DispatchEvent {
        event_id: uuid::Uuid::new_v4(),
        entity_key: "author-1".into(),
        created_at_us: 1_700_000_000_000_000 + seq,
        source_service: "offload-e2e".into(),
        actions: vec![Action::CassandraWrite(write)],
    }
}

fn text(value: &str) -> CqlValue {
    CqlValue::Text(value.into())
}

fn catalog_note(id: &str, body: &str) -> CassandraWrite {
    CassandraWrite::new("add_note", vec![text(id), text(body)])
}

async fn drain(scenario: &Scenario, worker: &mut WorkerProcess) -> anyhow::Result<()> {
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    let status = worker.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "worker exited with {status}:\n{}", worker.log_text());
    Ok(())
}

async fn notes(scenario: &Scenario) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut rows: Vec<(String, Option<String>)> = scenario
        .session
        .query_unpaged(format!("SELECT id, body FROM {}.notes", scenario.keyspace), ())
        .await?
        .into_rows_result()?
        .rows::<(String, Option<String>)>()?
        .collect::<Result<_, _>>()?;
    rows.sort();
    Ok(rows)
}

fn note(id: &str, body: &str) -> (String, Option<String>) {
    (id.to_string(), Some(body.to_string()))
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_dml_is_dead_lettered_unless_allowed() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    let raw = CassandraWrite::raw(
        "raw_note",
        format!("INSERT INTO {}.notes (id, body) VALUES (?, ?)", scenario.keyspace),
        vec![text("n1"), text("raw")],
    );
    publish_events(
        &scenario.topic,
        &[
            event(0, catalog_note("n0", "before")),
            event(1, raw),
            event(2, catalog_note("n2", "after")),
        ],
    )
    .await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &mut worker).await?;

    assert_eq!(notes(&scenario).await?, vec![note("n0", "before"), note("n2", "after")]);
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(3));
    let letters = read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].header("offload-dlq-source-offset"), Some("1"));
    assert_eq!(letters[0].header("offload-dlq-error-class"), Some("raw_dml_disabled"));
    let message = letters[0].header("offload-dlq-error-message").unwrap_or_default();
    assert!(message.contains("raw_note"), "{message}");
    assert!(message.contains("cassandra.allow_raw_dml = true"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_raw_dml_writes_rows() -> anyhow::Result<()> {
    let mut scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    scenario.config = scenario.config.clone().cassandra_setting("allow_raw_dml", "true");
    let ks = scenario.keyspace.clone();
    let insert = format!("INSERT INTO {ks}.notes (id, body) VALUES (?, 'DROP TABLE {ks}.notes; -- not a statement')");
    let batch = format!(
        "BEGIN UNLOGGED BATCH INSERT INTO {ks}.notes (id, body) VALUES (?, ?); \
         /* DROP TABLE {ks}.notes */ UPDATE {ks}.notes SET tags = ? WHERE id = ?; APPLY BATCH"
    );
    publish_events(
        &scenario.topic,
        &[
            event(0, CassandraWrite::raw("literal", &insert, vec![text("r1")])),
            event(1, CassandraWrite::raw("literal", &insert, vec![text("r2")])),
            event(
                2,
                CassandraWrite::raw(
                    "update",
                    format!("UPDATE {ks}.notes SET body = ? WHERE id = ?"),
                    vec![text("edited"), text("r2")],
                ),
            ),
            event(
                3,
                CassandraWrite::raw(
                    "batch",
                    &batch,
                    vec![
                        text("r3"),
                        text("batched"),
                        CqlValue::Set(vec![text("a"), text("b")]),
                        text("r3"),
                    ],
                ),
            ),
            event(4, catalog_note("c1", "catalog")),
        ],
    )
    .await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &mut worker).await?;

    assert_eq!(
        notes(&scenario).await?,
        vec![
            note("c1", "catalog"),
            note("r1", &format!("DROP TABLE {ks}.notes; -- not a statement")),
            note("r2", "edited"),
            note("r3", "batched"),
        ]
    );
    let (tags,): (Option<Vec<String>>,) = scenario
        .session
        .query_unpaged(format!("SELECT tags FROM {ks}.notes WHERE id = 'r3'"), ())
        .await?
        .into_rows_result()?
        .first_row()?;
    assert_eq!(tags, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(5));
    assert_eq!(
        offload_e2e::end_offsets(&scenario.dead_letter_topic)?,
        vec![0],
        "nothing was dead-lettered"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ddl_and_reads_always_dead_lettered() -> anyhow::Result<()> {
    let mut scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    scenario.config = scenario.config.clone().cassandra_setting("allow_raw_dml", "true");
    let ks = scenario.keyspace.clone();
    let rejected = [
        format!("DROP TABLE {ks}.notes"),
        format!("BEGIN BATCH INSERT INTO {ks}.notes (id, body) VALUES ('x', 'y'); DROP TABLE {ks}.notes; APPLY BATCH"),
        format!("SELECT * FROM {ks}.notes"),
        format!("INSERT INTO {ks}.notes (id, body) VALUES ('x', 'y'); TRUNCATE {ks}.notes"),
    ];
    let mut events = vec![event(0, catalog_note("n0", "before"))];
    for (index, cql) in rejected.iter().enumerate() {
        events.push(event(1 + index as i64, CassandraWrite::raw("hostile", cql, Vec::new())));
    }
    events.push(event(9, catalog_note("n9", "after")));
    // The producer library rejects these, so they come from another writer.
    publish_unvalidated(&scenario.topic, &events).await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &mut worker).await?;

    assert_eq!(notes(&scenario).await?, vec![note("n0", "before"), note("n9", "after")]);
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(6));
    let letters = read_topic(&scenario.dead_letter_topic, rejected.len(), Duration::from_secs(30))?;
    assert_eq!(letters.len(), rejected.len(), "{letters:?}");
    let expected_keywords = ["`DROP`", "`DROP`", "`SELECT`", "`TRUNCATE`"];
    for (offset, (letter, keyword)) in letters.iter().zip(expected_keywords).enumerate() {
        let offset = (offset + 1).to_string();
        assert_eq!(letter.header("offload-dlq-source-offset"), Some(offset.as_str()));
        assert_eq!(letter.header("offload-dlq-error-class"), Some("not_dml"));
        let message = letter.header("offload-dlq-error-message").unwrap_or_default();
        assert!(message.contains(keyword), "offset {offset}: {message}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_dml_on_missing_table_is_dead_lettered() -> anyhow::Result<()> {
    let mut scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    scenario.config = scenario.config.clone().cassandra_setting("allow_raw_dml", "true");
    let cql = format!("INSERT INTO {}.no_such_table (id) VALUES (?)", scenario.keyspace);
    publish_events(
        &scenario.topic,
        &[
            event(0, CassandraWrite::raw("missing_table", cql, vec![text("x")])),
            event(1, catalog_note("n1", "after")),
        ],
    )
    .await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &mut worker).await?;

    assert_eq!(notes(&scenario).await?, vec![note("n1", "after")]);
    let letters = read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].header("offload-dlq-error-class"), Some("invalid_request"));
    let message = letters[0].header("offload-dlq-error-message").unwrap_or_default();
    assert!(message.contains("missing_table"), "{message}");
    assert!(message.contains("no_such_table"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_rejects_catalog_batch_hiding_drop() -> anyhow::Result<()> {
    let config = offload_e2e::WorkerConfigBuilder::new("dispatch", "dead-letter", "group")
        .statement("add_note", "INSERT INTO ks.notes (id, body) VALUES (?, ?)", true)
        .statement(
            "sneaky",
            "BEGIN BATCH INSERT INTO ks.notes (id, body) VALUES (?, ?); DROP TABLE ks.notes; APPLY BATCH",
            true,
        );
    let folder = tempfile::tempdir()?;
    let path = folder.path().join("worker.toml");
    std::fs::write(&path, config.render(9464))?;

    let output = Command::new(worker_binary()?)
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .output()?;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("statements.sneaky.cql"), "{stderr}");
    assert!(stderr.contains("`DROP`"), "{stderr}");
    Ok(())
}
