//! One demo run from input files to verification.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use offload_consumer::lag::log_end_offsets;
use offload_producer::{Publisher, PublisherConfig};
use scylla::client::session_builder::SessionBuilder;

use crate::events::EventBuilder;
use crate::input::{self, Portion};
use crate::metrics::WorkerMetrics;
use crate::replay::{self, LagSource, Progress};
use crate::verify::{self, Report};
use crate::worker::{PushTargets, Worker, WorkerSettings};
use crate::{expected, schema, workload};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Folder with `stackexchange-conlang/` and `collegemsg/`.
    pub data_dir: PathBuf,
    /// How much of the input to replay.
    pub portion: Portion,
    /// Seed of the drawn likers.
    pub seed: u64,
    /// Target rate in requests per second, averaged over the replay.
    pub rate: f64,
    /// Times to kill the worker with SIGKILL and restart it during the replay.
    pub chaos: u32,
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// Cassandra contact point.
    pub contact_point: String,
    /// Dispatch topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dead_letter_topic: String,
    /// Push-feedback topic.
    pub feedback_topic: String,
    /// The worker's consumer group.
    pub group: String,
    /// Keyspace of the demo tables.
    pub keyspace: String,
    /// The app's bundle id, which the APNs stand-in expects as `apns-topic`.
    pub bundle_id: String,
    /// The `offload-worker` binary.
    pub worker_binary: PathBuf,
    /// The stand-in push servers.
    pub push: PushTargets,
    /// Time allowed for the worker to drain the topic after the replay.
    pub drain_timeout: Duration,
    /// Whether to draw the progress bar.
    pub progress: bool,
    /// Folder for the worker's configuration file and log.
    pub work_dir: PathBuf,
}

/// The outcome of a run: what it published, executed and verified.
#[derive(Debug)]
pub struct Outcome {
    /// Partition key prefix of the run's rows.
    pub run_id: String,
    /// Input records without a user (deleted accounts), not replayed.
    pub skipped_records: usize,
    /// Requests by controller.
    pub requests: BTreeMap<&'static str, usize>,
    /// Events published (one per entity of a request).
    pub events: usize,
    /// Actions by kind.
    pub actions: BTreeMap<&'static str, usize>,
    /// Time to enqueue every request.
    pub replay_time: Duration,
    /// Time from the first request until the group's lag was zero.
    pub drain_time: Duration,
    /// The workers' metrics, summed over every process.
    pub metrics: WorkerMetrics,
    /// Times the worker was killed.
    pub kills: u32,
    /// The records each killed process left uncommitted.
    pub kill_records: Vec<crate::worker::KillRecord>,
    /// The comparison with the expected values.
    pub report: Report,
    /// Whether the verification passed.
    pub passed: bool,
}

/// Replays the input through offload and verifies the result.
pub async fn run(config: &DemoConfig) -> anyhow::Result<Outcome> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let input = input::read(&config.data_dir, config.portion)?;
    let workload = workload::build(&input, config.seed);
    let expected = expected::compute(&workload.requests);

    let session = SessionBuilder::new()
        .known_node(&config.contact_point)
        .build()
        .await
        .with_context(|| {
            format!(
                "connecting to Cassandra at {} failed; start the stack with `deploy/local/stack up`",
                config.contact_point
            )
        })?;
    schema::create(&session, &config.keyspace).await?;

    std::fs::create_dir_all(&config.work_dir)
        .with_context(|| format!("cannot create {}", config.work_dir.display()))?;
    let mut worker = Worker::start(worker_settings(config), &config.work_dir)?;
    let publisher = Publisher::new(PublisherConfig::new(
        &config.bootstrap_servers,
        &config.topic,
        "offload-demo",
    ))?;
    let builder = EventBuilder {
        run_id: run_id.clone(),
        bundle_id: config.bundle_id.clone(),
    };
    let lag_source = LagSource {
        bootstrap_servers: config.bootstrap_servers.clone(),
        group: config.group.clone(),
        topic: config.topic.clone(),
    };

    let mut progress = Progress::start(workload.requests.len(), lag_source, config.progress);
    // Events an interrupted earlier run left in the topic go first, so that
    // the counts below are this run's alone.
    let leftovers = replay::wait_for_drain(&mut worker, &mut progress, 0, Instant::now(), config.drain_timeout).await;
    if let Err(error) = leftovers {
        progress.finish();
        worker.stop().await?;
        return Err(error.context("the worker did not catch up with the topic before the replay"));
    }
    worker.set_baseline().await?;
    let dead_letters_before = total_end_offset(config, &config.dead_letter_topic)?;
    let push_sequence_before = verify::recorded_pushes(&config.push.control_url, 0)
        .await?
        .last()
        .map_or(0, |record| record.sequence);

    let started = Instant::now();
    let replayed = replay::publish(
        &workload.requests,
        config.rate,
        config.chaos,
        &builder,
        &publisher,
        &mut worker,
        &mut progress,
    )
    .await;
    let drained = match replayed {
        Ok(published) => drain(published, &mut worker, &mut progress, started, config).await,
        Err(error) => Err(error),
    };
    progress.finish();
    let kills = worker.kills;
    let kill_records = worker.kill_records.clone();
    let metrics = worker.stop().await?;
    let (published, drain_time) = drained.map_err(|error| {
        error.context(format!(
            "the worker's configuration and log are in {}",
            config.work_dir.display()
        ))
    })?;

    let mut report = Report::default();
    verify::check_counters(&session, &config.keyspace, &run_id, &expected, &mut report).await?;
    verify::check_rows(&session, &config.keyspace, &run_id, &expected, &mut report).await?;
    let recorded = verify::recorded_pushes(&config.push.control_url, push_sequence_before).await?;
    verify::check_pushes(&recorded, &run_id, &expected, &mut report);
    report.dead_letters = total_end_offset(config, &config.dead_letter_topic)? - dead_letters_before;
    let passed = report.passed(config.chaos > 0);

    Ok(Outcome {
        run_id,
        skipped_records: workload.skipped_records,
        requests: published.requests,
        events: published.events,
        actions: published.actions,
        replay_time: published.elapsed,
        drain_time,
        metrics,
        kills,
        kill_records,
        report,
        passed,
    })
}

/// The state after the replay, once every event was acknowledged.
struct Drained {
    requests: BTreeMap<&'static str, usize>,
    actions: BTreeMap<&'static str, usize>,
    events: usize,
    elapsed: Duration,
}

async fn drain(
    published: replay::Published,
    worker: &mut Worker,
    progress: &mut Progress,
    started: Instant,
    config: &DemoConfig,
) -> anyhow::Result<(Drained, Duration)> {
    let events = published.deliveries.len();
    for delivery in published.deliveries {
        delivery.wait().await.context("an event was not delivered to Kafka")?;
    }
    replay::wait_for_drain(worker, progress, events, started, config.drain_timeout).await?;
    let drained = Drained {
        requests: published.requests,
        actions: published.actions,
        events,
        elapsed: published.elapsed,
    };
    Ok((drained, started.elapsed()))
}

fn worker_settings(config: &DemoConfig) -> WorkerSettings {
    WorkerSettings {
        binary: config.worker_binary.clone(),
        bootstrap_servers: config.bootstrap_servers.clone(),
        contact_point: config.contact_point.clone(),
        group: config.group.clone(),
        topic: config.topic.clone(),
        dead_letter_topic: config.dead_letter_topic.clone(),
        feedback_topic: config.feedback_topic.clone(),
        statement_catalog: schema::statement_catalog(&config.keyspace),
        push: config.push.clone(),
    }
}

fn total_end_offset(config: &DemoConfig, topic: &str) -> anyhow::Result<i64> {
    let ends = log_end_offsets(&config.bootstrap_servers, topic, Duration::from_secs(10)).with_context(|| {
        format!(
            "reading the log-end offsets of {topic} on {} failed; check that Kafka runs there (`deploy/local/stack status`)",
            config.bootstrap_servers
        )
    })?;
    Ok(ends.iter().sum())
}
