//! `offload-bench`: benchmarks of offload against the local stack.
//!
//! `offload-bench drain` publishes a backlog, measures the raw consume and
//! raw insert limits, lets the `offload-worker` binary found beside this one
//! (or named by `OFFLOAD_WORKER_BIN`) drain the backlog, prints the summary
//! and exits 1 when the verification fails.
//!
//! `offload-bench push` measures the worker's push rate against the APNs
//! stand-in with injected latency, with key parallelism and with one event at
//! a time per partition, and exits 1 when a notification is missing or repeated.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use offload_bench::push::{self, PushOptions};
use offload_bench::{drain, DrainOptions};

/// Benchmarks of offload against the local Kafka and Cassandra
/// (`deploy/local/stack up`). Build with `--release`.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drains a backlog of events with one Cassandra insert each through the
    /// worker, and compares its rate with the raw consume and raw insert
    /// rates measured in the same run.
    Drain(DrainArgs),
    /// Sends events with one APNs push each through the worker to the APNs
    /// stand-in with injected latency, once with key parallelism and once
    /// with one event at a time per partition. Each rate is compared with the
    /// latency bound and the raw client rate measured in the same run.
    Push(PushArgs),
}

#[derive(Debug, Args)]
struct PushArgs {
    /// Events, each with one APNs push to its own device token.
    #[arg(long, default_value_t = 50_000)]
    events: u64,
    /// Partitions of the dispatch topic.
    #[arg(long, default_value_t = 12)]
    partitions: i32,
    /// Distinct entity keys; event i belongs to entity i % entities.
    #[arg(long, default_value_t = 10_000)]
    entities: u64,
    /// Latency the APNs stand-in adds to every request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// worker.max_in_flight_per_partition of both runs.
    #[arg(long, default_value_t = 2_000)]
    window: usize,
    /// worker.max_concurrent_events of both runs.
    #[arg(long, default_value_t = 256)]
    max_concurrent_events: usize,
    /// Notifications the raw APNs client sends per mode.
    #[arg(long, default_value_t = 20_000)]
    raw_sample: u64,
    /// Time allowed to publish the events, in seconds.
    #[arg(long, default_value_t = 300)]
    publish_timeout_secs: u64,
    /// Time allowed for each raw client measurement, in seconds.
    #[arg(long, default_value_t = 300)]
    raw_timeout_secs: u64,
    /// Time allowed for each worker run, in seconds.
    #[arg(long, default_value_t = 900)]
    drain_timeout_secs: u64,
    /// Time between two reads of the worker group's offsets, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_interval_ms: u64,
    /// Keeps the run's topics instead of deleting them.
    #[arg(long)]
    keep: bool,
}

impl PushArgs {
    fn options(self) -> PushOptions {
        PushOptions {
            events: self.events,
            partitions: self.partitions,
            entities: self.entities,
            latency_ms: self.latency_ms,
            window: self.window,
            max_concurrent_events: self.max_concurrent_events,
            raw_sample: self.raw_sample,
            publish_timeout: Duration::from_secs(self.publish_timeout_secs),
            raw_timeout: Duration::from_secs(self.raw_timeout_secs),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            keep: self.keep,
        }
    }
}

#[derive(Debug, Args)]
struct DrainArgs {
    /// Events in the backlog.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Partitions of the dispatch topic.
    #[arg(long, default_value_t = 12)]
    partitions: i32,
    /// Distinct entity keys; event i belongs to entity i % entities.
    #[arg(long, default_value_t = 10_000)]
    entities: u64,
    /// Length of each row's text column, in bytes.
    #[arg(long, default_value_t = 100)]
    body_bytes: usize,
    /// Rows the raw insert measurement writes (at most --events, which is
    /// the default: both then write the same number of rows).
    #[arg(long)]
    insert_sample: Option<u64>,
    /// The worker's worker.max_concurrent_events, and the number of
    /// concurrent raw inserts.
    #[arg(long, default_value_t = 256)]
    max_concurrent_events: usize,
    /// A further key of the worker's [worker] table as KEY=TOML_VALUE, for
    /// example key_parallelism=false; repeatable.
    #[arg(long = "worker-setting", value_name = "KEY=VALUE", value_parser = key_value)]
    worker_settings: Vec<(String, String)>,
    /// A librdkafka consumer setting for the worker and the raw consumer as
    /// KEY=VALUE, for example fetch.max.bytes=104857600; repeatable.
    #[arg(long = "kafka-setting", value_name = "KEY=VALUE", value_parser = key_value)]
    kafka_settings: Vec<(String, String)>,
    /// Time allowed to publish the backlog, in seconds.
    #[arg(long, default_value_t = 600)]
    publish_timeout_secs: u64,
    /// Time allowed to consume the backlog without work, in seconds.
    #[arg(long, default_value_t = 600)]
    consume_timeout_secs: u64,
    /// Time allowed for the raw inserts, in seconds.
    #[arg(long, default_value_t = 600)]
    insert_timeout_secs: u64,
    /// Time allowed for the worker to drain the backlog, in seconds.
    #[arg(long, default_value_t = 1_800)]
    drain_timeout_secs: u64,
    /// Time allowed to count and compare the rows, in seconds.
    #[arg(long, default_value_t = 300)]
    verify_timeout_secs: u64,
    /// Time between two reads of the worker group's offsets, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_interval_ms: u64,
    /// Keeps the run's topics, consumer groups and keyspace instead of deleting them.
    #[arg(long)]
    keep: bool,
    /// Copies the worker's log to this file.
    #[arg(long, value_name = "FILE")]
    worker_log: Option<PathBuf>,
    /// Pins every thread of the local stack's Cassandra to the first N CPUs,
    /// and its Kafka, the harness and the worker to the others, for the
    /// whole run. The affinities are restored at the end.
    #[arg(long, value_name = "N")]
    cassandra_cpus: Option<usize>,
}

impl DrainArgs {
    fn options(self) -> DrainOptions {
        DrainOptions {
            events: self.events,
            partitions: self.partitions,
            entities: self.entities,
            body_bytes: self.body_bytes,
            insert_sample: self.insert_sample.unwrap_or(self.events),
            max_concurrent_events: self.max_concurrent_events,
            worker_settings: self.worker_settings,
            kafka_settings: self.kafka_settings,
            publish_timeout: Duration::from_secs(self.publish_timeout_secs),
            consume_timeout: Duration::from_secs(self.consume_timeout_secs),
            insert_timeout: Duration::from_secs(self.insert_timeout_secs),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
            verify_timeout: Duration::from_secs(self.verify_timeout_secs),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            keep: self.keep,
            worker_log: self.worker_log,
            cassandra_cpus: self.cassandra_cpus,
        }
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Drain(args) => run_drain(args.options()).await,
        Command::Push(args) => run_push(args.options()).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_push(options: PushOptions) -> anyhow::Result<bool> {
    warn_if_debug_build();
    let report = push::run(&options).await.context("the push benchmark failed")?;
    println!();
    println!("{report}");
    Ok(report.passed())
}

fn warn_if_debug_build() {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with `cargo build --release -p offload-bench -p offload-consumer` for meaningful rates");
    }
}

async fn run_drain(options: DrainOptions) -> anyhow::Result<bool> {
    warn_if_debug_build();
    let report = drain::run(&options).await.context("the drain benchmark failed")?;
    println!();
    println!("{report}");
    Ok(report.passed())
}
