//! Per-entity order under key parallelism, across crashes, restarts and
//! rebalances: every entity's events are applied in offset order, and none
//! is skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use offload_e2e::{group_lags, publish_events, sequence, wait_for_drain, Scenario, WorkerProcess};

const PARTITIONS: i32 = 6;

/// Commit interval of the kill tests. The worker commits early when half a
/// window is finished, so what a kill replays stays within one window per
/// partition even though the interval commit comes rarely.
const KILL_TEST_COMMIT_INTERVAL_MS: &str = "5000";

async fn scenario() -> anyhow::Result<Scenario> {
    Scenario::new(PARTITIONS, &sequence::TABLES, &[sequence::STATEMENT]).await
}

/// Checks every entity's order and returns the total number of repeats.
async fn check_all(scenario: &Scenario, entities: usize, per_entity: usize) -> anyhow::Result<usize> {
    let applied = sequence::read(&scenario.session, &scenario.keyspace).await?;
    assert_eq!(applied.len(), entities, "entities with applied events");
    let mut repeats = 0;
    for (entity, seqs) in &applied {
        repeats += sequence::check_order(entity, seqs, per_entity).map_err(anyhow::Error::msg)?;
    }
    Ok(repeats)
}

async fn drain(scenario: &Scenario, workers: &[&WorkerProcess], timeout: Duration) -> anyhow::Result<()> {
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, timeout).await {
        let logs: Vec<String> = workers.iter().map(|worker| worker.log_text()).collect();
        anyhow::bail!("{error}\nworker logs:\n{}", logs.join("\n----\n"));
    }
    Ok(())
}

/// Waits until the group has committed at least `minimum` offsets in total.
async fn wait_for_progress(scenario: &Scenario, minimum: i64) -> anyhow::Result<i64> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let committed: i64 = group_lags(&scenario.group, &scenario.topic)
            .map(|lags| lags.iter().map(|lag| lag.committed.unwrap_or(0)).sum())
            .unwrap_or(0);
        if committed >= minimum {
            return Ok(committed);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "only {committed} offsets committed in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Returns the partitions a worker owns, or owned when it stopped, from the
/// "partitions assigned" and "partitions revoked" lines of its log.
fn owned_at_exit(log: &str) -> BTreeSet<i32> {
    let mut owned = BTreeSet::new();
    for line in log.lines() {
        let assigned = line.contains("partitions assigned");
        if !assigned && !line.contains("partitions revoked") {
            continue;
        }
        let Some(list) = line
            .split_once("partitions=[")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| list)
        else {
            continue;
        };
        for id in list.split(',').filter_map(|id| id.trim().parse::<i32>().ok()) {
            if assigned {
                owned.insert(id);
            } else {
                owned.remove(&id);
            }
        }
    }
    owned
}

/// Waits up to 60 s until every worker owns at least one partition, so
/// that the group usually shares the work before the first kill. The replay
/// bound does not depend on it: it counts the partitions each killed worker
/// owned. On a heavily loaded machine the rebalances can take longer, so
/// the test then prints the assignment and continues.
async fn wait_for_shares(workers: &[WorkerProcess]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while workers
        .iter()
        .any(|worker| owned_at_exit(&worker.log_text()).is_empty())
    {
        if std::time::Instant::now() >= deadline {
            let owned: Vec<BTreeSet<i32>> = workers.iter().map(|worker| owned_at_exit(&worker.log_text())).collect();
            println!("not every worker owned a partition after 60 s: {owned:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn same_entity_events_apply_in_order() -> anyhow::Result<()> {
    const ENTITIES: usize = 60;
    const PER_ENTITY: usize = 25;
    let scenario = scenario().await?;
    publish_events(&scenario.topic, &sequence::events(ENTITIES, 0..PER_ENTITY)).await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &[&worker], Duration::from_secs(120)).await?;
    worker.terminate(Duration::from_secs(30))?;

    let repeats = check_all(&scenario, ENTITIES, PER_ENTITY).await?;
    assert_eq!(repeats, 0, "a clean run applies every event once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn order_holds_across_sigkill() -> anyhow::Result<()> {
    const ENTITIES: usize = 60;
    const PER_ENTITY: usize = 60;
    const WINDOW: usize = 20;
    let total = (ENTITIES * PER_ENTITY) as i64;
    let scenario = scenario().await?;
    let config = scenario
        .config
        .clone()
        .run_setting("max_in_flight_per_partition", &WINDOW.to_string())
        .run_setting("commit_interval_ms", KILL_TEST_COMMIT_INTERVAL_MS);
    publish_events(&scenario.topic, &sequence::events(ENTITIES, 0..PER_ENTITY)).await?;

    let mut first = WorkerProcess::spawn(&config)?;
    let committed_at_kill = wait_for_progress(&scenario, total / 5).await?;
    first.kill()?;
    assert!(
        committed_at_kill < total,
        "the backlog drained before the kill; raise it"
    );

    let mut second = WorkerProcess::spawn(&config)?;
    drain(&scenario, &[&second], Duration::from_secs(120)).await?;
    second.terminate(Duration::from_secs(30))?;

    let repeats = check_all(&scenario, ENTITIES, PER_ENTITY).await?;
    // A kill replays at most one window per partition.
    println!(
        "repeats after the kill: {repeats} (bound {})",
        PARTITIONS as usize * WINDOW
    );
    assert!(repeats <= PARTITIONS as usize * WINDOW, "{repeats} repeats");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_killed_in_turn_lose_nothing() -> anyhow::Result<()> {
    const ENTITIES: usize = 60;
    const PER_ENTITY: usize = 80;
    const WINDOW: usize = 10;
    let total = (ENTITIES * PER_ENTITY) as i64;
    let scenario = scenario().await?;
    let config = scenario
        .config
        .clone()
        .run_setting("max_in_flight_per_partition", &WINDOW.to_string())
        .run_setting("commit_interval_ms", KILL_TEST_COMMIT_INTERVAL_MS);
    publish_events(&scenario.topic, &sequence::events(ENTITIES, 0..PER_ENTITY)).await?;

    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(WorkerProcess::spawn(&config)?);
    }
    wait_for_shares(&workers).await;
    // Each kill replays at most one window on each partition the killed
    // worker owned, which its log names.
    let mut killed_partitions = 0;
    for (turn, worker) in workers.iter_mut().enumerate() {
        let committed_at_kill = wait_for_progress(&scenario, total * (turn as i64 + 1) / 5).await?;
        worker.kill()?;
        assert!(
            committed_at_kill < total,
            "the backlog drained before kill {turn}; raise it"
        );
        let owned = owned_at_exit(&worker.log_text());
        println!("kill {turn}: the worker owned partitions {owned:?}");
        killed_partitions += owned.len();
        *worker = WorkerProcess::spawn(&config)?;
    }
    let borrowed: Vec<&WorkerProcess> = workers.iter().collect();
    drain(&scenario, &borrowed, Duration::from_secs(180)).await?;
    for worker in &mut workers {
        worker.terminate(Duration::from_secs(30))?;
    }

    let repeats = check_all(&scenario, ENTITIES, PER_ENTITY).await?;
    let bound = killed_partitions * WINDOW;
    println!("repeats after 3 kills: {repeats} (bound {bound}: {killed_partitions} partitions of killed workers)");
    assert!(
        repeats <= bound,
        "{repeats} repeats after 3 kills of workers that owned {killed_partitions} partitions in total"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_joining_and_leaving_skip_nothing() -> anyhow::Result<()> {
    const ENTITIES: usize = 40;
    const ROUNDS: usize = 10;
    const PER_ROUND: usize = 5;
    let scenario = scenario().await?;

    let mut steady = WorkerProcess::spawn(&scenario.config)?;
    for round in 0..ROUNDS {
        let mut visitor = WorkerProcess::spawn(&scenario.config)?;
        let seqs = round * PER_ROUND..(round + 1) * PER_ROUND;
        publish_events(&scenario.topic, &sequence::events(ENTITIES, seqs)).await?;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let status = visitor.terminate(Duration::from_secs(30))?;
        assert!(
            status.success(),
            "round {round}: the leaving worker exited with {status}:\n{}",
            visitor.log_text()
        );
    }
    drain(&scenario, &[&steady], Duration::from_secs(120)).await?;
    steady.terminate(Duration::from_secs(30))?;

    for lag in group_lags(&scenario.group, &scenario.topic)? {
        assert_eq!(lag.lag(), 0, "partition {}", lag.partition);
    }
    check_all(&scenario, ENTITIES, ROUNDS * PER_ROUND).await?;
    Ok(())
}
