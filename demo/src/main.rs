//! `offload-demo`: replays an Instagram-like workload built from real
//! interaction logs through offload on the local stack and verifies every
//! counter, row and push notification.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use offload_demo::input::Portion;
use offload_demo::standins::{ensure_running, StandInsPlace};
use offload_demo::{summary, DemoConfig};

/// Replays real interaction logs through offload on the local stack and verifies the result.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Folder with the input logs (`stackexchange-conlang/` and `collegemsg/`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data"))]
    data_dir: PathBuf,
    /// Replay the first this many CollegeMsg messages (the whole Stack Exchange dump is always replayed).
    #[arg(long, default_value_t = 4_000, conflicts_with = "all")]
    messages: usize,
    /// Replay all 59,835 CollegeMsg messages.
    #[arg(long)]
    all: bool,
    /// Target rate in requests per second, averaged over the replay; each log's
    /// time span is compressed to the replay's duration.
    #[arg(long, default_value_t = 100.0, allow_negative_numbers = true)]
    rate: f64,
    /// Kill the worker with SIGKILL this many times during the replay, restarting it each time.
    #[arg(long, default_value_t = 0)]
    chaos: u32,
    /// Seed of the likers drawn for the anonymous up-votes.
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
    /// Push-feedback topic.
    #[arg(long, env = "OFFLOAD_FEEDBACK_TOPIC", default_value = "offload.push-feedback")]
    feedback_topic: String,
    /// Consumer group of the demo's worker.
    #[arg(long, default_value = "offload-demo")]
    group: String,
    /// Keyspace of the demo tables.
    #[arg(long, default_value = "offload_demo")]
    keyspace: String,
    /// Folder of the stand-ins' CA, keys and output.
    #[arg(long, env = "OFFLOAD_DEMO_STANDINS_DIR", default_value = "target/standins")]
    standins_dir: PathBuf,
    /// APNs stand-in port.
    #[arg(long, default_value_t = 8443)]
    apns_port: u16,
    /// FCM stand-in port.
    #[arg(long, default_value_t = 8444)]
    fcm_port: u16,
    /// Stand-ins' control API port.
    #[arg(long, default_value_t = 8445)]
    control_port: u16,
    /// Time allowed for the worker to drain the topic after the replay, in seconds.
    #[arg(long, default_value_t = 600)]
    drain_timeout_secs: u64,
    /// Do not draw the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Folder for the worker's configuration file and log (`worker.log`).
    #[arg(long, env = "OFFLOAD_DEMO_WORK_DIR", default_value = "target/offload-demo")]
    work_dir: PathBuf,
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
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!(
            "--rate {} is invalid; give a positive number of requests per second",
            args.rate
        );
    }
    if args.drain_timeout_secs == 0 {
        bail!("--drain-timeout-secs 0 is invalid; give the seconds the worker may take to drain the topic");
    }
    let own_folder = std::env::current_exe()?
        .parent()
        .context("the demo binary has no folder")?
        .to_path_buf();
    let place = StandInsPlace {
        binary: sibling(&own_folder, "offload-standins", "OFFLOAD_STANDINS_BIN")?,
        dir: std::path::absolute(&args.standins_dir)?,
        apns_port: args.apns_port,
        fcm_port: args.fcm_port,
        control_port: args.control_port,
    };
    let push = ensure_running(&place).await?;

    let messages = if args.all { None } else { Some(args.messages) };
    let config = DemoConfig {
        data_dir: args.data_dir.clone(),
        portion: Portion { messages, site: true },
        seed: args.seed,
        rate: args.rate,
        chaos: args.chaos,
        bootstrap_servers: args.bootstrap_servers.clone(),
        contact_point: args.contact_point.clone(),
        topic: args.topic.clone(),
        dead_letter_topic: args.dead_letter_topic.clone(),
        feedback_topic: args.feedback_topic.clone(),
        group: args.group.clone(),
        keyspace: args.keyspace.clone(),
        bundle_id: "com.example.app".into(),
        worker_binary: sibling(&own_folder, "offload-worker", "OFFLOAD_WORKER_BIN")?,
        push,
        drain_timeout: Duration::from_secs(args.drain_timeout_secs),
        progress: !args.no_progress,
        work_dir: args.work_dir.clone(),
    };
    let portion = messages.map_or("all".to_string(), |count| format!("the first {count}"));
    println!(
        "offload demo: Stack Exchange conlang dump and {portion} CollegeMsg messages at {} requests/s{}",
        args.rate,
        if args.chaos > 0 {
            format!(", killing the worker {} times", args.chaos)
        } else {
            String::new()
        }
    );
    let outcome = offload_demo::run(&config).await?;
    println!();
    print!("{}", summary::render(&outcome, args.chaos > 0));
    Ok(outcome.passed)
}

/// Finds a binary of the workspace beside this one, or at the path in `variable`.
fn sibling(own_folder: &std::path::Path, name: &str, variable: &str) -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var(variable) {
        return Ok(PathBuf::from(path));
    }
    let path = own_folder.join(name);
    if !path.exists() {
        bail!(
            "{} does not exist; build it with `cargo build --bins` or set {variable}",
            path.display()
        );
    }
    Ok(path)
}
