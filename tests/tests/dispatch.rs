//! The main job end to end: events published through the real broker are
//! executed against the real Cassandra and their offsets committed.

use std::time::Duration;

use offload_e2e::workload::{self, STATEMENTS, TABLES};
use offload_e2e::{
    cassandra_session, create_keyspace, create_topic, end_offsets, group_lags, unique_name, wait_for_drain,
    WorkerConfigBuilder, WorkerProcess,
};

const ENTITIES: usize = 25;
const EVENTS_PER_ENTITY: usize = 24;
const PARTITIONS: i32 = 6;

fn worker_config(topic: &str, group: &str, keyspace: &str) -> WorkerConfigBuilder {
    let mut config = WorkerConfigBuilder::new(topic, &format!("{topic}_dlq"), group);
    for (name, cql, idempotent) in STATEMENTS {
        config = config.statement(name, &cql.replace("{ks}", keyspace), idempotent);
    }
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_is_written_and_committed() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    let group = unique_name("group");
    let keyspace = unique_name("e2e");
    create_topic(&topic, PARTITIONS).await?;
    create_topic(&format!("{topic}_dlq"), 1).await?;
    let session = cassandra_session().await?;
    create_keyspace(&session, &keyspace, &TABLES).await?;

    workload::publish(&topic, ENTITIES, EVENTS_PER_ENTITY).await?;
    let mut worker = WorkerProcess::spawn(&worker_config(&topic, &group, &keyspace))?;
    let drained = wait_for_drain(&group, &topic, Duration::from_secs(90)).await;
    let lags = match drained {
        Ok(lags) => lags,
        Err(error) => anyhow::bail!("{error}\nworker log:\n{}", worker.log_text()),
    };
    let status = worker.terminate(Duration::from_secs(30))?;

    assert!(
        status.success(),
        "worker exited with {status}; log:\n{}",
        worker.log_text()
    );
    let ends = end_offsets(&topic)?;
    assert_eq!(ends.iter().sum::<i64>(), (ENTITIES * EVENTS_PER_ENTITY) as i64);
    assert_eq!(lags.len(), PARTITIONS as usize);
    for lag in &lags {
        assert_eq!(
            lag.committed,
            Some(ends[lag.partition as usize]),
            "partition {}",
            lag.partition
        );
    }

    let rows = workload::read_events(&session, &keyspace).await?;
    assert_eq!(rows, workload::expected_events(ENTITIES, EVENTS_PER_ENTITY));

    let counts = workload::read_counts(&session, &keyspace).await?;
    assert_eq!(counts.len(), ENTITIES);
    for (entity, count) in counts {
        assert_eq!(count, EVENTS_PER_ENTITY as i64, "counter of {entity}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_killed_midway_loses_nothing() -> anyhow::Result<()> {
    const ENTITIES: usize = 40;
    const EVENTS_PER_ENTITY: usize = 100;
    let total = (ENTITIES * EVENTS_PER_ENTITY) as i64;
    let topic = unique_name("dispatch");
    let group = unique_name("group");
    let keyspace = unique_name("e2e");
    create_topic(&topic, PARTITIONS).await?;
    create_topic(&format!("{topic}_dlq"), 1).await?;
    let session = cassandra_session().await?;
    create_keyspace(&session, &keyspace, &TABLES).await?;
    workload::publish(&topic, ENTITIES, EVENTS_PER_ENTITY).await?;
    let config = worker_config(&topic, &group, &keyspace);

    let mut first = WorkerProcess::spawn(&config)?;
    let committed_at_kill = wait_for_progress(&group, &topic, total / 10).await?;
    first.kill()?;
    assert!(
        committed_at_kill < total,
        "the worker finished all {total} events before it was killed; the test needs a larger backlog"
    );

    let mut second = WorkerProcess::spawn(&config)?;
    let drained = wait_for_drain(&group, &topic, Duration::from_secs(120)).await;
    if let Err(error) = drained {
        anyhow::bail!("{error}\nworker log after restart:\n{}", second.log_text());
    }
    second.terminate(Duration::from_secs(30))?;

    let lags = group_lags(&group, &topic)?;
    assert_eq!(lags.len(), PARTITIONS as usize);
    for lag in &lags {
        assert_eq!(lag.committed, Some(lag.log_end), "partition {}", lag.partition);
    }
    let rows = workload::read_events(&session, &keyspace).await?;
    assert_eq!(rows, workload::expected_events(ENTITIES, EVENTS_PER_ENTITY));
    // Counter updates are not idempotent: at-least-once delivery may apply
    // the ones replayed after the kill twice, but never zero times.
    let counts = workload::read_counts(&session, &keyspace).await?;
    assert_eq!(counts.len(), ENTITIES);
    for (entity, count) in counts {
        assert!(count >= EVENTS_PER_ENTITY as i64, "counter of {entity} is {count}");
    }
    Ok(())
}

/// Waits until the group has committed at least `minimum` offsets in total,
/// and returns the total then.
async fn wait_for_progress(group: &str, topic: &str, minimum: i64) -> anyhow::Result<i64> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        // A coordinator that is still loading fails the read for a moment.
        let committed: i64 = group_lags(group, topic)
            .map(|lags| lags.iter().map(|lag| lag.committed.unwrap_or(0)).sum())
            .unwrap_or(0);
        if committed >= minimum {
            return Ok(committed);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "group {group} committed only {committed} offsets in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
