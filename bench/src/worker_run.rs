//! The worker under test: the `offload-worker` binary as a child process,
//! timed from its start until its group has committed the log end of every
//! partition, with its memory and CPU time sampled from `/proc`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use offload_consumer::lag::{group_lag, PartitionLag};
use offload_e2e::{WorkerConfigBuilder, WorkerProcess};

use crate::process_stats::{self, Memory};
use crate::rate::Rate;

/// Time the worker gets to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Time one read of the group's offsets may take.
const LAG_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run the worker and when to give up.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    /// The worker's configuration.
    pub config: WorkerConfigBuilder,
    /// Kafka bootstrap servers, for reading the group's offsets.
    pub bootstrap_servers: String,
    /// The worker's consumer group.
    pub group: String,
    /// The dispatch topic.
    pub topic: String,
    /// Records in the topic.
    pub expected: u64,
    /// Time allowed to drain the topic.
    pub timeout: Duration,
    /// Time between two reads of the group's offsets and the worker's memory.
    pub poll_interval: Duration,
    /// File to copy the worker's log to, if any.
    pub log_copy: Option<PathBuf>,
}

/// Results of the worker run.
#[derive(Debug, Clone)]
pub struct WorkerRun {
    /// Records committed, from the process start until the committed
    /// offsets reached the log end.
    pub rate: Rate,
    /// Time from the process start until the group first committed an offset.
    pub first_commit_after: Option<Duration>,
    /// Highest resident set size of the worker process.
    pub peak_resident_bytes: u64,
    /// CPU time the worker used until the backlog was drained.
    pub cpu_time: Duration,
    /// Lines the worker logged at WARN or ERROR level.
    pub warning_count: usize,
    /// Whether the worker exited with status 0 after SIGTERM.
    pub stopped_cleanly: bool,
}

/// Starts the worker and waits until it has committed every record of the topic.
pub async fn drain(plan: &WorkerPlan) -> anyhow::Result<WorkerRun> {
    let started = Instant::now();
    let mut worker = WorkerProcess::spawn(&plan.config)?;
    let pid = worker.id();
    println!("worker started, pid {pid}");

    let result = wait_for_drain(plan, &mut worker, started).await;
    let log = worker.log_text();
    if let Some(path) = &plan.log_copy {
        std::fs::write(path, &log).with_context(|| format!("writing the worker log to {} failed", path.display()))?;
    }
    let progress = match result {
        Ok(progress) => progress,
        Err(error) => {
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(error.context(format!("the worker's last log lines:\n{}", tail.join("\n"))));
        }
    };

    let status = worker.terminate(STOP_TIMEOUT)?;
    Ok(WorkerRun {
        rate: Rate::new(plan.expected, progress.drained_after),
        first_commit_after: progress.first_commit_after,
        peak_resident_bytes: progress.memory.peak_resident_bytes,
        cpu_time: progress.cpu_time,
        warning_count: log
            .lines()
            .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
            .count(),
        stopped_cleanly: status.success(),
    })
}

/// Observations at the moment the backlog was drained.
struct Progress {
    drained_after: Duration,
    first_commit_after: Option<Duration>,
    memory: Memory,
    cpu_time: Duration,
}

async fn wait_for_drain(plan: &WorkerPlan, worker: &mut WorkerProcess, started: Instant) -> anyhow::Result<Progress> {
    let pid = worker.id();
    let deadline = started + plan.timeout;
    let mut first_commit_after = None;
    let mut memory = Memory::default();

    loop {
        if let Some(status) = worker.try_wait()? {
            bail!("the worker exited with {status} before it drained {}", plan.topic);
        }
        // The kernel keeps the high-water mark, so sampling only guards
        // against losing it if the process ends before the last sample.
        memory = process_stats::memory(pid).unwrap_or(memory);

        let lags = read_lags(plan).await;
        if first_commit_after.is_none() && lags.iter().any(|lag| lag.committed.is_some()) {
            first_commit_after = Some(started.elapsed());
        }
        let committed: i64 = lags.iter().filter_map(|lag| lag.committed).sum();
        let drained = !lags.is_empty() && lags.iter().all(|lag| lag.committed == Some(lag.log_end));
        if drained && committed as u64 == plan.expected {
            let drained_after = started.elapsed();
            let memory = process_stats::memory(pid)?;
            let cpu_time = process_stats::cpu_time(pid)?;
            return Ok(Progress {
                drained_after,
                first_commit_after,
                memory,
                cpu_time,
            });
        }
        if Instant::now() >= deadline {
            bail!(
                "the worker committed {committed} of {} records within {:?}; raise --drain-timeout-secs",
                plan.expected,
                plan.timeout
            );
        }
        tokio::time::sleep(plan.poll_interval).await;
    }
}

/// Reads the group's offsets. A coordinator that is still loading returns
/// NOT_COORDINATOR for a moment, so a failed read counts as no progress.
async fn read_lags(plan: &WorkerPlan) -> Vec<PartitionLag> {
    let (bootstrap, group, topic) = (plan.bootstrap_servers.clone(), plan.group.clone(), plan.topic.clone());
    tokio::task::spawn_blocking(move || group_lag(&bootstrap, &group, &topic, LAG_READ_TIMEOUT))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}
