//! The drain benchmark: the worker drains a backlog of events with one
//! Cassandra insert each. Its rate is compared with two limits measured in
//! the same run on the same stack. One is a consumer that does nothing, the
//! other the same prepared insert executed directly with the worker's
//! concurrency.
//!
//! The phases run one after another, so they do not compete with each
//! other for the machine: create the topics and keyspace, publish the
//! backlog, measure the raw consume rate, measure the raw insert rate,
//! run the worker, verify the rows and dead letters, and drop what the run
//! created unless asked to keep it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use offload_e2e::{
    cassandra_contact_point, cassandra_session, create_keyspace, create_topic, kafka_bootstrap, unique_name,
    WorkerConfigBuilder,
};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::backlog::{self, insert_cql, Backlog};
use crate::cpu_split::CpuSplit;
use crate::rate::Rate;
use crate::raw_consume::{self, ConsumeRun};
use crate::raw_insert::{self, InsertPlan, InsertRun};
use crate::verify::{self, Verification};
use crate::worker_run::{self, WorkerPlan, WorkerRun};

/// The worker's default `worker.commit_interval_ms`. The test configuration
/// commits every 200 ms; the benchmark measures the shipped default.
const DEFAULT_COMMIT_INTERVAL_MS: &str = "1000";

/// Settings of one drain benchmark run.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Events in the backlog.
    pub events: u64,
    /// Partitions of the dispatch topic.
    pub partitions: i32,
    /// Distinct entity keys.
    pub entities: u64,
    /// Length of each row's text column, in bytes.
    pub body_bytes: usize,
    /// Rows written by the raw insert measurement (at most `events`; by
    /// default all of them, so that both write the same amount).
    pub insert_sample: u64,
    /// `worker.max_concurrent_events` of the worker, and the concurrency of
    /// the raw inserts.
    pub max_concurrent_events: usize,
    /// Further `[worker]` keys, as TOML values.
    pub worker_settings: Vec<(String, String)>,
    /// Further librdkafka consumer settings, for the worker and the raw consumer.
    pub kafka_settings: Vec<(String, String)>,
    /// Time allowed to publish the backlog.
    pub publish_timeout: Duration,
    /// Time allowed to consume the backlog without work.
    pub consume_timeout: Duration,
    /// Time allowed for the raw inserts.
    pub insert_timeout: Duration,
    /// Time allowed for the worker to drain the backlog.
    pub drain_timeout: Duration,
    /// Time allowed to count and compare the rows.
    pub verify_timeout: Duration,
    /// Time between two reads of the worker group's offsets.
    pub poll_interval: Duration,
    /// Whether to keep the topics, groups and keyspace after the run.
    pub keep: bool,
    /// File to copy the worker's log to.
    pub worker_log: Option<PathBuf>,
    /// Pins Cassandra to this many CPUs, and Kafka and the clients to the
    /// others, for the run (see [`crate::cpu_split`]).
    pub cassandra_cpus: Option<usize>,
}

impl Default for DrainOptions {
    fn default() -> DrainOptions {
        DrainOptions {
            events: 1_000_000,
            partitions: 12,
            entities: 10_000,
            body_bytes: 100,
            insert_sample: 1_000_000,
            max_concurrent_events: 256,
            worker_settings: Vec::new(),
            kafka_settings: Vec::new(),
            publish_timeout: Duration::from_secs(600),
            consume_timeout: Duration::from_secs(600),
            insert_timeout: Duration::from_secs(600),
            drain_timeout: Duration::from_secs(1_800),
            verify_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(250),
            keep: false,
            worker_log: None,
            cassandra_cpus: None,
        }
    }
}

/// Names of what one run creates.
#[derive(Debug, Clone)]
pub struct RunNames {
    /// The dispatch topic.
    pub topic: String,
    /// The dead-letter topic.
    pub dead_letter_topic: String,
    /// The worker's consumer group.
    pub group: String,
    /// The raw consumer's group.
    pub raw_group: String,
    /// The keyspace with the worker's and the raw inserts' tables.
    pub keyspace: String,
}

impl RunNames {
    fn new() -> RunNames {
        let topic = unique_name("bench_dispatch");
        RunNames {
            dead_letter_topic: format!("{topic}_dlq"),
            topic,
            group: unique_name("bench_worker"),
            raw_group: unique_name("bench_raw"),
            keyspace: unique_name("bench"),
        }
    }
}

/// Everything one run measured and checked.
#[derive(Debug, Clone)]
pub struct DrainReport {
    /// The run's settings.
    pub options: DrainOptions,
    /// The run's topics, groups and keyspace.
    pub names: RunNames,
    /// Publishing the backlog through the producer library.
    pub publish: Rate,
    /// The consume limit.
    pub raw_consume: ConsumeRun,
    /// The insert limit.
    pub raw_insert: InsertRun,
    /// The worker's drain.
    pub worker: WorkerRun,
    /// The checks of the worker's rows and the dead-letter topic.
    pub verification: Verification,
}

impl DrainReport {
    /// Returns the smaller of the two limits, in events per second.
    pub fn limit_per_second(&self) -> f64 {
        self.raw_consume
            .rate
            .per_second()
            .min(self.raw_insert.rate.per_second())
    }

    /// Returns the worker's rate divided by the smaller limit.
    pub fn ratio(&self) -> f64 {
        let limit = self.limit_per_second();
        if limit > 0.0 {
            self.worker.rate.per_second() / limit
        } else {
            0.0
        }
    }

    /// Returns whether the run left exactly one correct row per event, no
    /// dead letter, and a worker that stopped cleanly.
    pub fn passed(&self) -> bool {
        self.verification.passed(self.options.events) && self.worker.stopped_cleanly
    }
}

/// Runs the benchmark once against the local stack.
pub async fn run(options: &DrainOptions) -> anyhow::Result<DrainReport> {
    let names = RunNames::new();
    println!(
        "topic {} ({} partitions), keyspace {}",
        names.topic, options.partitions, names.keyspace
    );
    let split = options.cassandra_cpus.map(CpuSplit::apply).transpose()?;
    if let Some(servers) = options.cassandra_cpus {
        println!("CPUs split: Cassandra on the first {servers}; Kafka, the harness and the worker on the others");
    }
    let result = measure(options, &names).await;
    drop(split);
    if options.keep {
        println!("kept topic {}, groups and keyspace {}", names.topic, names.keyspace);
    } else if let Err(error) = clean_up(&names).await {
        eprintln!("warning: cleaning up after the run failed: {error:#}");
    }
    result
}

async fn measure(options: &DrainOptions, names: &RunNames) -> anyhow::Result<DrainReport> {
    let bootstrap = kafka_bootstrap();
    let contact_point = cassandra_contact_point();
    create_topic(&names.topic, options.partitions).await?;
    create_topic(&names.dead_letter_topic, 1).await?;
    let session = cassandra_session().await?;
    create_keyspace(
        &session,
        &names.keyspace,
        &[&backlog::worker_table(), &backlog::raw_table()],
    )
    .await?;
    drop(session);

    let backlog = Backlog::new(options.events, options.entities, options.body_bytes);
    let publish = backlog::publish(&backlog, &bootstrap, &names.topic, options.publish_timeout).await?;
    println!("published {} events in {:.1?}", publish.count, publish.elapsed);

    let config = worker_config(options, names);
    let kafka_settings = config.kafka_settings();
    let raw_consume = raw_consume::measure(
        &kafka_settings,
        &names.raw_group,
        &names.topic,
        options.events,
        options.consume_timeout,
    )
    .await?;
    println!("raw consume: {:.0} records/s", raw_consume.rate.per_second());

    let insert_plan = InsertPlan {
        contact_point: contact_point.clone(),
        keyspace: names.keyspace.clone(),
        table: "raw_events".into(),
        sample: options.insert_sample.min(options.events),
        concurrency: options.max_concurrent_events,
        timeout: options.insert_timeout,
    };
    let raw_insert = raw_insert::measure(&backlog, &insert_plan).await?;
    println!("raw insert: {:.0} writes/s", raw_insert.rate.per_second());

    let worker_plan = WorkerPlan {
        config,
        bootstrap_servers: bootstrap.clone(),
        group: names.group.clone(),
        topic: names.topic.clone(),
        expected: options.events,
        timeout: options.drain_timeout,
        poll_interval: options.poll_interval,
        log_copy: options.worker_log.clone(),
    };
    let worker = worker_run::drain(&worker_plan).await?;
    println!("worker: {:.0} events/s", worker.rate.per_second());

    let verification = verify::check(
        &backlog,
        &contact_point,
        &names.keyspace,
        "events",
        &bootstrap,
        &names.dead_letter_topic,
        options.verify_timeout,
    )
    .await?;

    Ok(DrainReport {
        options: options.clone(),
        names: names.clone(),
        publish,
        raw_consume,
        raw_insert,
        worker,
        verification,
    })
}

/// Builds the worker's configuration: the test defaults with the shipped
/// commit interval, the benchmark's statement and the requested settings.
fn worker_config(options: &DrainOptions, names: &RunNames) -> WorkerConfigBuilder {
    let mut config = WorkerConfigBuilder::new(&names.topic, &names.dead_letter_topic, &names.group)
        .statement(backlog::STATEMENT, &insert_cql(&names.keyspace, "events"), true)
        .run_setting("commit_interval_ms", DEFAULT_COMMIT_INTERVAL_MS)
        .run_setting("max_concurrent_events", &options.max_concurrent_events.to_string());
    for (key, value) in &options.worker_settings {
        config = config.run_setting(key, value);
    }
    for (key, value) in &options.kafka_settings {
        config = config.kafka_setting(key, value);
    }
    config
}

/// Drops the keyspace and deletes the topics and groups of the run. Every
/// step runs even when an earlier one failed; the error names the first failure.
async fn clean_up(names: &RunNames) -> anyhow::Result<()> {
    let keyspace = drop_keyspace(&names.keyspace).await;
    let kafka = delete_topics_and_groups(names).await;
    keyspace.and(kafka)
}

async fn drop_keyspace(keyspace: &str) -> anyhow::Result<()> {
    let session = cassandra_session().await?;
    session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await
        .with_context(|| format!("dropping keyspace {keyspace} failed"))?;
    Ok(())
}

async fn delete_topics_and_groups(names: &RunNames) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let topics = [names.topic.as_str(), names.dead_letter_topic.as_str()];
    for result in admin.delete_topics(&topics, &options).await? {
        if let Err((topic, code)) = result {
            anyhow::bail!("deleting topic {topic} failed: {code}");
        }
    }

    // The raw consumer never commits, so the broker may have forgotten its group.
    let groups = [names.group.as_str(), names.raw_group.as_str()];
    for result in admin.delete_groups(&groups, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((group, code)) => anyhow::bail!("deleting consumer group {group} failed: {code}"),
        }
    }
    Ok(())
}
