//! `offload-demo`: runs offload's main job once on the local stack.
//!
//! It creates the demo tables, starts an `offload-worker`, publishes a mix of
//! like, comment and follow requests of an Instagram-like app through the
//! producer library, waits until the worker has committed every offset, and
//! checks every written row against counts computed from the requests.

mod requests;
mod tables;
mod verify;

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use offload_consumer::lag::{group_lag, log_end_offsets};
use offload_producer::{Dispatcher, Publisher, PublisherConfig};
use scylla::client::session_builder::SessionBuilder;

/// Runs offload's main job once on the local stack and verifies the result.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Number of user requests to publish.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Number of distinct users in the requests.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Seed of the request mix.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Kafka bootstrap servers.
    #[arg(long, env = "OFFLOAD_KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap_servers: String,
    /// Cassandra contact point.
    #[arg(long, env = "OFFLOAD_CASSANDRA_CONTACT_POINT", default_value = "127.0.0.1:9042")]
    contact_point: String,
    /// Dispatch topic.
    #[arg(long, env = "OFFLOAD_DISPATCH_TOPIC", default_value = "offload.dispatch")]
    topic: String,
    /// Dead-letter topic.
    #[arg(long, env = "OFFLOAD_DEAD_LETTER_TOPIC", default_value = "offload.dead-letter")]
    dead_letter_topic: String,
    /// Consumer group of the demo's worker.
    #[arg(long, default_value = "offload-demo")]
    group: String,
    /// Keyspace of the demo tables.
    #[arg(long, default_value = "offload_demo")]
    keyspace: String,
    /// Time allowed for the worker to drain the topic, in seconds.
    #[arg(long, default_value_t = 300)]
    drain_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<bool> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    println!(
        "offload demo, run {run_id}: {} requests of {} users",
        args.requests, args.users
    );

    let session = SessionBuilder::new()
        .known_node(&args.contact_point)
        .build()
        .await
        .with_context(|| {
            format!(
                "connecting to Cassandra at {} failed; start the stack with `deploy/local/stack up`",
                args.contact_point
            )
        })?;
    tables::create(&session, &args.keyspace).await?;
    let dead_letters_before = total_end_offset(args, &args.dead_letter_topic)?;

    let config_folder = tempfile::tempdir()?;
    let mut worker = start_worker(args, &config_folder)?;

    let plan = requests::generate(args.requests, args.users, args.seed);
    let publisher = Publisher::new(PublisherConfig::new(
        &args.bootstrap_servers,
        &args.topic,
        "offload-demo",
    ))?;
    let started = Instant::now();
    let mut deliveries = Vec::new();
    for request in &plan.requests {
        let mut dispatcher = Dispatcher::new(&publisher);
        request.dispatch(&mut dispatcher, &run_id);
        deliveries.extend(dispatcher.dispatch().await?);
    }
    let actions = plan.action_count();
    let events = deliveries.len();
    let mut delivered = 0;
    for delivery in deliveries {
        delivery.wait().await?;
        delivered += 1;
    }
    let published_in = started.elapsed();
    println!("published {events} events ({actions} actions) in {published_in:.1?}; waiting for the worker");

    let drained = wait_for_drain(args, &mut worker).await;
    let drained_in = started.elapsed();
    stop_worker(&mut worker)?;
    drained?;

    let report = verify::check(&session, &args.keyspace, &run_id, &plan).await?;
    let dead_letters = total_end_offset(args, &args.dead_letter_topic)? - dead_letters_before;

    println!();
    println!("  requests published      {:>8}", plan.requests.len());
    println!("  events delivered        {delivered:>8} of {events}");
    println!("  Cassandra writes        {actions:>8}  (dispatched)");
    println!(
        "  drained after           {:>8.1} s  ({:.0} events/s end to end)",
        drained_in.as_secs_f64(),
        events as f64 / drained_in.as_secs_f64()
    );
    println!(
        "  user counters checked   {:>8}  ({} differ)",
        report.counters_checked, report.counters_wrong
    );
    println!(
        "  comments checked        {:>8}  ({} missing or wrong)",
        report.comments_checked, report.comments_wrong
    );
    println!("  new dead letters        {dead_letters:>8}");
    let passed = report.passed() && dead_letters == 0 && delivered == events;
    println!(
        "  verification            {:>8}",
        if passed { "passed" } else { "FAILED" }
    );
    for problem in report.problems.iter().take(10) {
        println!("    {problem}");
    }
    Ok(passed)
}

fn start_worker(args: &Args, folder: &tempfile::TempDir) -> anyhow::Result<Child> {
    let config_path = folder.path().join("worker.toml");
    std::fs::write(&config_path, tables::worker_config(args))?;
    let binary = worker_binary()?;
    Command::new(&binary)
        .arg("--config")
        .arg(&config_path)
        .env("OFFLOAD_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} failed", binary.display()))
}

fn stop_worker(worker: &mut Child) -> anyhow::Result<()> {
    if worker.try_wait()?.is_none() {
        kill(Pid::from_raw(worker.id() as i32), Signal::SIGTERM)?;
        worker.wait()?;
    }
    Ok(())
}

/// Finds `offload-worker` beside this binary, in the same Cargo target folder.
fn worker_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("OFFLOAD_WORKER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let own = std::env::current_exe()?;
    let worker = own.with_file_name("offload-worker");
    if !worker.exists() {
        bail!(
            "{} does not exist; build it with `cargo build -p offload-consumer` or set OFFLOAD_WORKER_BIN",
            worker.display()
        );
    }
    Ok(worker)
}

async fn wait_for_drain(args: &Args, worker: &mut Child) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.drain_timeout_secs);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = worker.try_wait()? {
            bail!("the worker exited with {status} before it drained the topic");
        }
        // The group coordinator may answer NOT_COORDINATOR for a moment after
        // a broker start, so a failed read only means "not drained yet".
        let lag: Option<i64> = group_lag(
            &args.bootstrap_servers,
            &args.group,
            &args.topic,
            Duration::from_secs(10),
        )
        .ok()
        .map(|lags| lags.iter().map(|lag| lag.lag()).sum());
        if lag == Some(0) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the worker did not drain {} within {timeout:?}; consumer lag is {lag:?}",
                args.topic
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn total_end_offset(args: &Args, topic: &str) -> anyhow::Result<i64> {
    let ends = log_end_offsets(&args.bootstrap_servers, topic, Duration::from_secs(10)).with_context(|| {
        format!(
            "reading the log-end offsets of {topic} on {} failed; check that Kafka runs there (`deploy/local/stack status`)",
            args.bootstrap_servers
        )
    })?;
    Ok(ends.iter().sum())
}
