//! `offload-bench`: benchmarks of offload against the local stack.
//!
//! `offload-bench drain` publishes a backlog, measures the raw consume and
//! raw insert limits, lets the `offload-worker` binary found beside this one
//! (or named by `OFFLOAD_WORKER_BIN`) drain the backlog, prints the summary
//! and exits 1 when the verification fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
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
    /// Rows the raw insert measurement writes (at most --events).
    #[arg(long, default_value_t = 200_000)]
    insert_sample: u64,
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
}

impl DrainArgs {
    fn options(self) -> DrainOptions {
        DrainOptions {
            events: self.events,
            partitions: self.partitions,
            entities: self.entities,
            body_bytes: self.body_bytes,
            insert_sample: self.insert_sample,
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
    let Command::Drain(args) = Cli::parse().command;
    match run_drain(args.options()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_drain(options: DrainOptions) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with `cargo build --release -p offload-bench -p offload-consumer` for meaningful rates");
    }
    let report = drain::run(&options).await.context("the drain benchmark failed")?;
    println!();
    println!("{report}");
    Ok(report.passed())
}
