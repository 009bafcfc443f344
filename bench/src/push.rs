//! The push benchmark: pushes per second through one worker against the
//! APNs stand-in with injected latency, once with key parallelism and once
//! with one event at a time per partition (`key_parallelism = false`), both
//! with the default in-flight window.
//!
//! Each run of the worker is compared with a limit measured in the same run.
//! The limit is the latency bound (events the worker may have in flight
//! divided by the injected latency), capped by the rate of a bare APNs client
//! sending to the stand-in with that many requests in flight. The stand-ins run in
//! the harness's process, so the worker and the raw client both share the
//! machine with them.
//!
//! The phases run one after another. The harness starts the stand-ins with
//! the latency, creates the topics and publishes the events. Then, for each
//! mode, it measures the raw client and forgets its notifications, runs the
//! worker with a new consumer group until it has committed every event, and
//! checks that the stand-in recorded exactly one notification per event.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures::stream::{self, StreamExt};
use offload_e2e::push::push_tables;
use offload_e2e::{create_topic, kafka_bootstrap, unique_name, WorkerConfigBuilder};
use offload_push::apns::{Alert, ApnsClient, ApnsNotification};
use offload_push::config::{ApnsAuth, ApnsConfig};
use offload_schemas::{Action, ApnsAlert, ApnsPush, DispatchEvent};
use offload_standins::{Fault, RecordFilter, StandIns, StandInsConfig};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use crate::backlog;
use crate::rate::Rate;
use crate::worker_run::{self, WorkerPlan, WorkerRun};

/// The app bundle the stand-in accepts, and the events' `apns-topic`.
const BUNDLE_ID: &str = "com.example.app";

/// The worker's default `worker.commit_interval_ms`.
const DEFAULT_COMMIT_INTERVAL_MS: &str = "1000";

/// Settings of one push benchmark run.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Events, each with one APNs push to its own device token.
    pub events: u64,
    /// Partitions of the dispatch topic.
    pub partitions: i32,
    /// Distinct entity keys; event `i` belongs to entity `i % entities`.
    pub entities: u64,
    /// Latency the APNs stand-in adds to every request, in milliseconds.
    pub latency_ms: u64,
    /// `worker.max_in_flight_per_partition` of both runs.
    pub window: usize,
    /// `worker.max_concurrent_events` of both runs.
    pub max_concurrent_events: usize,
    /// Notifications the raw client sends per mode.
    pub raw_sample: u64,
    /// Time allowed to publish the events.
    pub publish_timeout: Duration,
    /// Time allowed for each raw client measurement.
    pub raw_timeout: Duration,
    /// Time allowed for each worker run.
    pub drain_timeout: Duration,
    /// Time between two reads of the worker group's offsets.
    pub poll_interval: Duration,
    /// Whether to keep the topics after the run.
    pub keep: bool,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            events: 50_000,
            partitions: 12,
            entities: 10_000,
            latency_ms: 20,
            window: 2_000,
            max_concurrent_events: 256,
            raw_sample: 20_000,
            publish_timeout: Duration::from_secs(300),
            raw_timeout: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(900),
            poll_interval: Duration::from_millis(250),
            keep: false,
        }
    }
}

/// One way of running the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Name in the report.
    pub name: &'static str,
    /// `worker.key_parallelism`: whether events of different entities of a
    /// partition run concurrently.
    pub key_parallelism: bool,
}

/// Measurements and checks of one mode.
#[derive(Debug, Clone)]
pub struct ModeRun {
    /// The mode.
    pub mode: Mode,
    /// Events the worker can have in flight: the smallest of partitions ×
    /// window (× 1 without key parallelism), `max_concurrent_events` and the
    /// APNs client's streams.
    pub in_flight_bound: usize,
    /// The APNs client alone, sending with `in_flight_bound` requests in flight.
    pub raw_client: Rate,
    /// The worker, from its start until its group committed every event.
    pub worker: WorkerRun,
    /// The check of the stand-in's notifications after the worker run.
    pub deliveries: Deliveries,
}

impl ModeRun {
    /// Returns `in_flight_bound` divided by the injected latency, in pushes per second.
    pub fn latency_bound_per_second(&self, latency: Duration) -> f64 {
        self.in_flight_bound as f64 / latency.as_secs_f64()
    }

    /// Returns the smaller of the latency bound and the raw client rate.
    pub fn limit_per_second(&self, latency: Duration) -> f64 {
        self.latency_bound_per_second(latency).min(self.raw_client.per_second())
    }

    /// Returns the worker's rate divided by the limit.
    pub fn ratio(&self, latency: Duration) -> f64 {
        let limit = self.limit_per_second(latency);
        if limit > 0.0 {
            self.worker.rate.per_second() / limit
        } else {
            0.0
        }
    }
}

/// Counts of the notifications the stand-in recorded, compared with the events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Notifications recorded.
    pub recorded: u64,
    /// Events whose device token got no notification.
    pub missing: u64,
    /// Notifications beyond the first for a device token.
    pub duplicated: u64,
    /// Notifications to a device token of no event.
    pub unexpected: u64,
}

impl Deliveries {
    /// Returns whether every event's notification arrived exactly once.
    pub fn exact(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.unexpected == 0
    }
}

/// Measurements and checks of one run.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The run's settings.
    pub options: PushOptions,
    /// The dispatch topic.
    pub topic: String,
    /// Publishing the events through the producer library.
    pub publish: Rate,
    /// The key-parallel run, then the one-at-a-time run.
    pub modes: Vec<ModeRun>,
}

impl PushReport {
    /// Returns the injected latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.options.latency_ms)
    }

    /// Returns whether every mode delivered exactly the expected
    /// notifications and its worker stopped cleanly.
    pub fn passed(&self) -> bool {
        self.modes
            .iter()
            .all(|run| run.deliveries.exact() && run.worker.stopped_cleanly)
    }
}

/// Returns the device token of event `index`: 64 hexadecimal digits.
pub fn device_token(index: u64) -> String {
    format!("{index:064x}")
}

/// Builds event `index`: one alert to its own device token.
pub fn event(options: &PushOptions, index: u64) -> DispatchEvent {
    let push = ApnsPush {
        device_token: device_token(index),
        topic: BUNDLE_ID.into(),
        alert: Some(ApnsAlert {
            body: Some(format!("bench notification {index}")),
            ..ApnsAlert::default()
        }),
        ..ApnsPush::default()
    };
    DispatchEvent {
        event_id: uuid::Uuid::new_v4(),
        entity_key: format!("entity-{:07}", index % options.entities.max(1)),
        created_at_us: now_us(),
        source_service: "offload-bench".into(),
        actions: vec![Action::from(push)],
    }
}

/// Runs the benchmark once against the local Kafka and in-process stand-ins.
pub async fn run(options: &PushOptions) -> anyhow::Result<PushReport> {
    let credentials = tempfile::tempdir().context("creating a folder for the stand-ins' files failed")?;
    let stand_ins = StandIns::start(StandInsConfig::new(credentials.path()))
        .await
        .context("starting the stand-ins failed")?;
    stand_ins.apns_faults().set_global(Fault {
        latency_ms: options.latency_ms,
        ..Fault::default()
    });

    let topic = unique_name("bench_push");
    println!("topic {topic} ({} partitions)", options.partitions);
    let result = measure(options, &stand_ins, &topic).await;
    if options.keep {
        println!("kept topic {topic}");
    } else if let Err(error) = delete_topics(&topic).await {
        eprintln!("warning: deleting the run's topics failed: {error:#}");
    }
    result
}

async fn measure(options: &PushOptions, stand_ins: &StandIns, topic: &str) -> anyhow::Result<PushReport> {
    let bootstrap = kafka_bootstrap();
    create_topic(topic, options.partitions).await?;
    for suffix in ["dlq", "feedback"] {
        create_topic(&format!("{topic}_{suffix}"), 1).await?;
    }
    let publish = backlog::publish_events(
        options.events,
        |index| event(options, index),
        &bootstrap,
        topic,
        options.publish_timeout,
    )
    .await?;
    println!("published {} events in {:.1?}", publish.count, publish.elapsed);

    let modes = [
        Mode {
            name: "key parallelism",
            key_parallelism: true,
        },
        Mode {
            name: "one event at a time per partition",
            key_parallelism: false,
        },
    ];
    let mut runs = Vec::with_capacity(modes.len());
    for mode in modes {
        let run = measure_mode(options, stand_ins, topic, &bootstrap, mode).await?;
        println!(
            "{}: raw client {:.0}/s, worker {:.0}/s",
            mode.name,
            run.raw_client.per_second(),
            run.worker.rate.per_second()
        );
        runs.push(run);
    }

    Ok(PushReport {
        options: options.clone(),
        topic: topic.to_string(),
        publish,
        modes: runs,
    })
}

async fn measure_mode(
    options: &PushOptions,
    stand_ins: &StandIns,
    topic: &str,
    bootstrap: &str,
    mode: Mode,
) -> anyhow::Result<ModeRun> {
    let apns = apns_config(stand_ins);
    let partitions = usize::try_from(options.partitions).unwrap_or(1);
    let per_partition = if mode.key_parallelism { options.window } else { 1 };
    let in_flight_bound = (partitions * per_partition)
        .min(options.max_concurrent_events)
        .min(apns.connections * apns.max_concurrent_streams);

    let raw_client = measure_raw_client(&apns, options.raw_sample, in_flight_bound, options.raw_timeout).await?;
    stand_ins.clear_recorded();

    let group = unique_name("bench_push_worker");
    let config = WorkerConfigBuilder::new(topic, &format!("{topic}_dlq"), &group)
        .push_feedback_topic(&format!("{topic}_feedback"))
        .extra(&push_tables(stand_ins))
        .run_setting("commit_interval_ms", DEFAULT_COMMIT_INTERVAL_MS)
        .run_setting("max_concurrent_events", &options.max_concurrent_events.to_string())
        .run_setting("max_in_flight_per_partition", &options.window.to_string())
        .run_setting("key_parallelism", &mode.key_parallelism.to_string());
    let plan = WorkerPlan {
        config,
        bootstrap_servers: bootstrap.to_string(),
        group,
        topic: topic.to_string(),
        expected: options.events,
        timeout: options.drain_timeout,
        poll_interval: options.poll_interval,
        log_copy: None,
    };
    let worker = worker_run::drain(&plan).await?;

    let deliveries = check_deliveries(stand_ins, options.events);
    stand_ins.clear_recorded();
    Ok(ModeRun {
        mode,
        in_flight_bound,
        raw_client,
        worker,
        deliveries,
    })
}

/// Builds the client configuration that matches the worker's `[apns]` table.
fn apns_config(stand_ins: &StandIns) -> ApnsConfig {
    let credentials = &stand_ins.credentials;
    let auth = ApnsAuth::Token {
        key_path: credentials.apns_key.clone(),
        key_id: credentials.apns_key_id.clone(),
        team_id: credentials.apns_team_id.clone(),
    };
    let mut config = ApnsConfig::new(stand_ins.apns_url(), auth);
    config.public_roots = false;
    config.extra_root_certificate_paths = vec![credentials.ca_certificate.clone()];
    config
}

/// Sends `sample` alerts with `concurrency` in flight and times them from the
/// first request to the last response. Their device tokens follow the
/// events', so they never collide.
async fn measure_raw_client(
    config: &ApnsConfig,
    sample: u64,
    concurrency: usize,
    timeout: Duration,
) -> anyhow::Result<Rate> {
    let client = ApnsClient::new(config).context("building the raw APNs client failed")?;
    // One request first, so that the connection and the token are ready.
    client.send(&raw_notification(u64::MAX)).await;

    let started = Instant::now();
    let sends = stream::iter(0..sample)
        .map(|index| {
            let client = &client;
            async move { client.send(&raw_notification(u64::MAX - 1 - index)).await }
        })
        .buffer_unordered(concurrency.max(1))
        .filter(|outcome| std::future::ready(outcome.class() == "delivered"))
        .count();
    let delivered = tokio::time::timeout(timeout, sends)
        .await
        .context("the raw APNs client measurement timed out; raise --raw-timeout-secs")?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        delivered as u64 == sample,
        "the raw APNs client delivered {delivered} of {sample} notifications"
    );
    Ok(Rate::new(sample, elapsed))
}

fn raw_notification(index: u64) -> ApnsNotification {
    ApnsNotification {
        device_token: device_token(index),
        topic: BUNDLE_ID.into(),
        alert: Some(Alert {
            body: Some(format!("bench notification {index}")),
            ..Alert::default()
        }),
        ..ApnsNotification::default()
    }
}

/// Compares the stand-in's notifications with the device tokens of events `0..events`.
fn check_deliveries(stand_ins: &StandIns, events: u64) -> Deliveries {
    let recorded = stand_ins.recorded(&RecordFilter::default());
    let mut per_token: HashMap<String, u64> = HashMap::with_capacity(recorded.len());
    for record in &recorded {
        *per_token.entry(record.target.clone()).or_default() += 1;
    }

    let mut deliveries = Deliveries {
        recorded: recorded.len() as u64,
        ..Deliveries::default()
    };
    for index in 0..events {
        match per_token.remove(&device_token(index)) {
            None => deliveries.missing += 1,
            Some(count) => deliveries.duplicated += count - 1,
        }
    }
    deliveries.unexpected = per_token.values().sum();
    deliveries
}

async fn delete_topics(topic: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let topics = [topic.to_string(), format!("{topic}_dlq"), format!("{topic}_feedback")];
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    for result in admin.delete_topics(&names, &options).await? {
        if let Err((topic, code)) = result {
            anyhow::bail!("deleting topic {topic} failed: {code}");
        }
    }
    Ok(())
}

fn now_us() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

impl fmt::Display for PushReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.options;
        let latency = self.latency();
        writeln!(
            f,
            "push benchmark: {} events with one APNs push each, {} partitions, {} entities, {} ms stand-in latency, max_concurrent_events {}",
            options.events, options.partitions, options.entities, options.latency_ms, options.max_concurrent_events
        )?;
        writeln!(f, "published in {:.1?}", self.publish.elapsed)?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<34} {:>7} {:>10} {:>14} {:>11} {:>10} {:>7} {:>10}",
            "mode", "window", "in flight", "latency bound", "raw client", "worker", "ratio", "delivered"
        )?;
        for run in &self.modes {
            writeln!(
                f,
                "  {:<34} {:>7} {:>10} {:>12.0}/s {:>9.0}/s {:>8.0}/s {:>7.2} {:>10}",
                run.mode.name,
                options.window,
                run.in_flight_bound,
                run.latency_bound_per_second(latency),
                run.raw_client.per_second(),
                run.worker.rate.per_second(),
                run.ratio(latency),
                if run.deliveries.exact() { "exact" } else { "WRONG" },
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "ratio = worker / min(latency bound, raw client); the worker's time runs from its start to its last commit"
        )?;
        for run in &self.modes {
            let deliveries = &run.deliveries;
            writeln!(
                f,
                "{}: {} recorded, {} missing, {} duplicated, {} unexpected; worker CPU {:.1?}, peak RSS {} MiB, stopped cleanly: {}",
                run.mode.name,
                deliveries.recorded,
                deliveries.missing,
                deliveries.duplicated,
                deliveries.unexpected,
                run.worker.cpu_time,
                run.worker.peak_resident_bytes / (1024 * 1024),
                run.worker.stopped_cleanly,
            )?;
        }
        if self.modes.len() == 2 {
            let speedup =
                self.modes[0].worker.rate.per_second() / self.modes[1].worker.rate.per_second().max(f64::MIN_POSITIVE);
            writeln!(f, "key parallelism is {speedup:.1}x one event at a time per partition")?;
        }
        Ok(())
    }
}
