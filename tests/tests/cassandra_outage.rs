//! The worker rides out a Cassandra outage: it keeps its group membership
//! while writes fail and retry, resumes on its own, and loses nothing.
//! Cassandra is frozen with SIGSTOP, so these tests hold
//! [`faults::FREEZE_LOCK`] and live in a test binary of their own.

use std::time::Duration;

use offload_e2e::faults::{FrozenCassandra, FREEZE_LOCK};
use offload_e2e::http;
use offload_e2e::{group_lags, publish_events, sequence, wait_for_drain, Scenario, WorkerConfigBuilder, WorkerProcess};

async fn scenario(partitions: i32) -> anyhow::Result<(Scenario, WorkerConfigBuilder)> {
    let scenario = Scenario::new(partitions, &sequence::TABLES, &[sequence::STATEMENT]).await?;
    let config = scenario.config.clone().run_setting("retry_max_backoff_ms", "2000");
    Ok((scenario, config))
}

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

/// Scrapes the worker's /metrics until it has the line `expected`.
async fn wait_for_metric(worker: &WorkerProcess, expected: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (_, body) = http::get(worker.metrics_port(), "/metrics").await?;
        if body.lines().any(|line| line == expected) {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "/metrics had no line `{expected}` within {timeout:?}; worker log:\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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
async fn outage_of_thirty_seconds_keeps_membership() -> anyhow::Result<()> {
    const ENTITIES: usize = 30;
    const BEFORE: usize = 20;
    const DURING: usize = 10;
    let _serial = FREEZE_LOCK.lock().await;
    let (scenario, config) = scenario(3).await?;
    let config = config
        .kafka_setting("max.poll.interval.ms", "10000")
        .cassandra_request_timeout_secs(2);
    publish_events(&scenario.topic, &sequence::events(ENTITIES, 0..BEFORE)).await?;

    let mut worker = WorkerProcess::spawn(&config)?;
    wait_for_log(&worker, "partitions assigned", Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let frozen = FrozenCassandra::freeze()?;
    publish_events(&scenario.topic, &sequence::events(ENTITIES, BEFORE..BEFORE + DURING)).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    frozen.thaw();

    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(120)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    let status = worker.terminate(Duration::from_secs(30))?;
    let log = worker.log_text();

    assert!(status.success(), "worker exited with {status}:\n{log}");
    assert!(log.contains("retrying"), "the outage caused no retry:\n{log}");
    assert_eq!(
        count(&log, "partitions assigned"),
        1,
        "the worker rejoined the group:\n{log}"
    );
    assert_eq!(
        count(&log, "partitions revoked"),
        1,
        "only the final stop revokes:\n{log}"
    );
    let applied = sequence::read(&scenario.session, &scenario.keyspace).await?;
    assert_eq!(applied.len(), ENTITIES);
    for (entity, seqs) in &applied {
        sequence::check_order(entity, seqs, BEFORE + DURING).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn new_group_paused_before_first_event_starts_at_zero() -> anyhow::Result<()> {
    const EVENTS: usize = 40;
    let _serial = FREEZE_LOCK.lock().await;
    let (scenario, config) = scenario(1).await?;
    let config = config
        .run_setting("max_in_flight_per_partition", "5")
        .cassandra_request_timeout_secs(2);

    let mut worker = WorkerProcess::spawn(&config)?;
    wait_for_log(&worker, "partitions assigned", Duration::from_secs(30)).await?;

    let frozen = FrozenCassandra::freeze()?;
    publish_events(&scenario.topic, &sequence::events(1, 0..EVENTS)).await?;
    // The single partition's window fills while the first write hangs.
    wait_for_metric(&worker, "offload_paused_partitions 1", Duration::from_secs(20)).await?;
    let lags = group_lags(&scenario.group, &scenario.topic)?;
    assert!(
        lags[0].committed.unwrap_or(0) == 0,
        "offsets moved while Cassandra was down: {lags:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    frozen.thaw();

    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(120)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    worker.terminate(Duration::from_secs(30))?;

    let applied = sequence::read(&scenario.session, &scenario.keyspace).await?;
    let seqs = applied.values().next().cloned().unwrap_or_default();
    // A write that timed out while the node was frozen may still be applied
    // when it thaws, so repeats are allowed; order and completeness are not.
    assert_eq!(seqs.first(), Some(&0), "processing did not start at offset 0");
    sequence::check_order("entity-0000", &seqs, EVENTS).map_err(anyhow::Error::msg)?;
    assert_eq!(
        group_lags(&scenario.group, &scenario.topic)?[0].committed,
        Some(EVENTS as i64)
    );
    Ok(())
}
