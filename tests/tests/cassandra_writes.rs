//! How bound values reach Cassandra: counter deltas, unset versus null, and
//! unset values where Cassandra needs one; and that a clean restart runs
//! nothing twice.

use std::time::Duration;

use offload_e2e::{group_lags, publish_events, read_topic, wait_for_drain, Scenario, WorkerProcess};
use offload_schemas::{Action, CassandraWrite, CqlValue, DispatchEvent};
use scylla::value::Counter;

const TABLES: [&str; 2] = [
    "CREATE TABLE {ks}.profiles (user text PRIMARY KEY, name text, bio text)",
    "CREATE TABLE {ks}.counters (id text PRIMARY KEY, n counter)",
];

const STATEMENTS: [(&str, &str, bool); 3] = [
    (
        "set_profile",
        "UPDATE {ks}.profiles SET name = ?, bio = ? WHERE user = ?",
        true,
    ),
    (
        "rename_if",
        "UPDATE {ks}.profiles SET name = ? WHERE user = ? IF name = ?",
        false,
    ),
    ("adjust", "UPDATE {ks}.counters SET n = n + ? WHERE id = ?", false),
];

fn event(entity: &str, created_at_us: i64, statement: &str, values: Vec<CqlValue>) -> DispatchEvent {
    DispatchEvent {
        event_id: uuid::Uuid::new_v4(),
        entity_key: entity.into(),
        created_at_us,
        source_service: "offload-e2e".into(),
        actions: vec![Action::CassandraWrite(CassandraWrite {
            statement: statement.into(),
            values,
            consistency: None,
            serial_consistency: None,
            cql: None,
            ttl_secs: None,
            timestamp_us: None,
        })],
    }
}

fn text(value: &str) -> CqlValue {
    CqlValue::Text(value.into())
}

async fn run_worker_until_drained(scenario: &Scenario) -> anyhow::Result<WorkerProcess> {
    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    let status = worker.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "worker exited with {status}:\n{}", worker.log_text());
    Ok(worker)
}

async fn counter(scenario: &Scenario, id: &str) -> anyhow::Result<Option<i64>> {
    let row = scenario
        .session
        .query_unpaged(
            format!("SELECT n FROM {}.counters WHERE id = ?", scenario.keyspace),
            (id,),
        )
        .await?
        .into_rows_result()?
        .maybe_first_row::<(Counter,)>()?;
    Ok(row.map(|(counter,)| counter.0))
}

async fn profile(scenario: &Scenario, user: &str) -> anyhow::Result<Option<(Option<String>, Option<String>)>> {
    Ok(scenario
        .session
        .query_unpaged(
            format!("SELECT name, bio FROM {}.profiles WHERE user = ?", scenario.keyspace),
            (user,),
        )
        .await?
        .into_rows_result()?
        .maybe_first_row::<(Option<String>, Option<String>)>()?)
}

#[tokio::test(flavor = "multi_thread")]
async fn bigint_deltas_update_a_counter() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_events(
        &scenario.topic,
        &[
            event("c1", 1, "adjust", vec![CqlValue::BigInt(100), text("c1")]),
            event("c1", 2, "adjust", vec![CqlValue::BigInt(-4), text("c1")]),
        ],
    )
    .await?;

    run_worker_until_drained(&scenario).await?;

    assert_eq!(counter(&scenario, "c1").await?, Some(96));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unset_keeps_column_and_null_clears_it() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_events(
        &scenario.topic,
        &[
            event(
                "ada",
                1_000,
                "set_profile",
                vec![text("Ada"), text("first bio"), text("ada")],
            ),
            event(
                "ada",
                2_000,
                "set_profile",
                vec![text("Ada L."), CqlValue::Unset, text("ada")],
            ),
            event(
                "bob",
                1_000,
                "set_profile",
                vec![text("Bob"), text("old bio"), text("bob")],
            ),
            event(
                "bob",
                2_000,
                "set_profile",
                vec![text("Bob"), CqlValue::Null, text("bob")],
            ),
        ],
    )
    .await?;

    run_worker_until_drained(&scenario).await?;

    assert_eq!(
        profile(&scenario, "ada").await?,
        Some((Some("Ada L.".into()), Some("first bio".into())))
    );
    assert_eq!(profile(&scenario, "bob").await?, Some((Some("Bob".into()), None)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unset_in_where_or_if_is_dead_lettered() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_events(
        &scenario.topic,
        &[
            event("eve", 1, "set_profile", vec![text("Eve"), text("bio"), CqlValue::Unset]),
            event("eve", 2, "rename_if", vec![text("Eve2"), text("eve"), CqlValue::Unset]),
            event("eve", 3, "set_profile", vec![text("Eve"), text("kept"), text("eve")]),
        ],
    )
    .await?;

    run_worker_until_drained(&scenario).await?;

    assert_eq!(
        profile(&scenario, "eve").await?,
        Some((Some("Eve".into()), Some("kept".into())))
    );
    let letters = read_topic(&scenario.dead_letter_topic, 2, Duration::from_secs(30))?;
    let offsets: Vec<Option<&str>> = letters
        .iter()
        .map(|letter| letter.header("offload-dlq-source-offset"))
        .collect();
    assert_eq!(offsets, vec![Some("0"), Some("1")]);
    for letter in &letters {
        let message = letter.header("offload-dlq-error-message").unwrap_or_default();
        assert!(message.contains("unset"), "{message}");
    }
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(3));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_restart_runs_nothing_twice() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_events(
        &scenario.topic,
        &[
            event("cat", 1, "set_profile", vec![text("Cat"), text("bio"), text("cat")]),
            event("cat", 2, "set_profile", vec![text("Cat"), text("bio 2"), text("cat")]),
            event("cat", 3, "adjust", vec![CqlValue::BigInt(1), text("cat")]),
        ],
    )
    .await?;

    run_worker_until_drained(&scenario).await?;
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(3));

    let mut restarted = WorkerProcess::spawn(&scenario.config)?;
    wait_for_log(&restarted, "partitions assigned", Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    restarted.terminate(Duration::from_secs(30))?;

    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(3));
    assert_eq!(counter(&scenario, "cat").await?, Some(1));
    Ok(())
}

/// A SIGTERM in the middle of a backlog: the worker finishes the records
/// it received, including those queued behind their entity, commits past
/// them, and the restart applies only the rest. Every counter ends exact.
#[tokio::test(flavor = "multi_thread")]
async fn stop_in_backlog_runs_nothing_twice() -> anyhow::Result<()> {
    const ENTITIES: usize = 40;
    const PER_ENTITY: usize = 200;
    let total = (ENTITIES * PER_ENTITY) as i64;
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    let events: Vec<DispatchEvent> = (0..PER_ENTITY)
        .flat_map(|round| {
            (0..ENTITIES).map(move |entity| {
                let id = format!("c{entity}");
                event(&id, round as i64 + 1, "adjust", vec![CqlValue::BigInt(1), text(&id)])
            })
        })
        .collect();
    publish_events(&scenario.topic, &events).await?;

    let mut first = WorkerProcess::spawn(&scenario.config)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while group_lags(&scenario.group, &scenario.topic)?[0].committed.unwrap_or(0) < 200 {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no progress:\n{}",
            first.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = first.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "worker exited with {status}:\n{}", first.log_text());
    let committed_at_stop = group_lags(&scenario.group, &scenario.topic)?[0].committed.unwrap_or(0);
    assert!(
        committed_at_stop < total,
        "the backlog drained before the stop; raise it"
    );

    run_worker_until_drained(&scenario).await?;

    for entity in 0..ENTITIES {
        let id = format!("c{entity}");
        assert_eq!(counter(&scenario, &id).await?, Some(PER_ENTITY as i64), "counter {id}");
    }
    Ok(())
}

async fn wait_for_log(worker: &WorkerProcess, needle: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    while !worker.log_text().contains(needle) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the worker did not log `{needle}` within {timeout:?}:\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_change_prepares_statement_again() -> anyhow::Result<()> {
    let tables = ["CREATE TABLE {ks}.scores (id text PRIMARY KEY, n int)"];
    let statements = [("set_score", "INSERT INTO {ks}.scores (id, n) VALUES (?, ?)", true)];
    let scenario = Scenario::new(1, &tables, &statements).await?;
    publish_events(
        &scenario.topic,
        &[event("a", 1, "set_score", vec![text("a"), CqlValue::Int(5)])],
    )
    .await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await?;
    let keyspace = &scenario.keyspace;
    scenario
        .session
        .query_unpaged(format!("DROP TABLE {keyspace}.scores"), ())
        .await?;
    scenario
        .session
        .query_unpaged(
            format!("CREATE TABLE {keyspace}.scores (id text PRIMARY KEY, n bigint)"),
            (),
        )
        .await?;
    let big = 7_000_000_000_i64;
    publish_events(
        &scenario.topic,
        &[event("b", 2, "set_score", vec![text("b"), CqlValue::BigInt(big)])],
    )
    .await?;
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    worker.terminate(Duration::from_secs(30))?;

    let row = scenario
        .session
        .query_unpaged(format!("SELECT n FROM {keyspace}.scores WHERE id = 'b'"), ())
        .await?
        .into_rows_result()?
        .maybe_first_row::<(i64,)>()?;
    assert_eq!(row, Some((big,)), "worker log:\n{}", worker.log_text());
    assert!(
        worker.log_text().contains("prepared the statement again"),
        "{}",
        worker.log_text()
    );
    assert!(read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(2))?.is_empty());
    Ok(())
}
