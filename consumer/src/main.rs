//! `offload-worker`: consumes dispatch events and executes them.
//!
//! Exits 0 after a clean stop (SIGTERM or SIGINT), 1 when it cannot start
//! (unreachable Kafka or Cassandra, invalid statement, unreadable push
//! credentials) and 2 on an invalid configuration.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use std::sync::Arc;

use offload_consumer::executor::PushStartError;
use offload_consumer::http::{self, Health};
use offload_consumer::process::error_chain;
use offload_consumer::telemetry::Telemetry;
use offload_consumer::{Worker, WorkerConfig};
use offload_push::{ApnsClient, FcmClient};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::info;
use tracing_subscriber::EnvFilter;

/// jemalloc instead of the system allocator: the worker allocates and frees
/// several buffers per event on many threads, where glibc malloc spent a
/// quarter of the worker's CPU time in the drain benchmark (bench/README.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Consumes offload dispatch events from Kafka and executes their actions.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Configuration file (TOML). `OFFLOAD_SECTION__KEY` environment variables override it.
    #[arg(long, short, env = "OFFLOAD_CONFIG")]
    config: Option<PathBuf>,

    /// Validates the configuration (including librdkafka keys), prints a summary and exits.
    #[arg(long)]
    check_config: bool,

    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "OFFLOAD_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing(args.log_format);

    let config = match WorkerConfig::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        if let Err(error) = check_push_credentials(&config) {
            eprintln!("error: {}", error_chain(&error));
            return ExitCode::from(2);
        }
        let configured = |present: bool| if present { "configured" } else { "not configured" };
        println!(
            "configuration is valid: dispatch topic `{}`, group `{}`, statement catalog of {}, raw DML {}, schema registry {}, APNs {}, FCM {}",
            config.topics.dispatch,
            config
                .kafka
                .get("group.id")
                .map(ToString::to_string)
                .unwrap_or_default(),
            config.statements.len(),
            if config.cassandra.allow_raw_dml { "allowed" } else { "not allowed" },
            configured(config.schemas.registry_url.is_some()),
            configured(config.apns.is_some()),
            configured(config.fcm.is_some()),
        );
        return ExitCode::SUCCESS;
    }

    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    runtime.block_on(run(config))
}

/// Builds the push clients of `--check-config` once, so that unreadable
/// keys, certificates and service account files fail the check rather than
/// the start. No connection is opened.
fn check_push_credentials(config: &WorkerConfig) -> Result<(), PushStartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let _entered = runtime.enter();
    if let Some(apns) = &config.apns {
        ApnsClient::new(apns).map_err(PushStartError::Apns)?;
    }
    if let Some(fcm) = &config.fcm {
        FcmClient::new(fcm).map_err(PushStartError::Fcm)?;
    }
    Ok(())
}

async fn run(config: WorkerConfig) -> ExitCode {
    let telemetry = Telemetry::new();
    let health = Arc::new(Health::default());
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));

    let served = http::serve(
        &config.http.listen_address,
        telemetry.clone(),
        Arc::clone(&health),
        shutdown.clone(),
    )
    .await;
    if let Err(error) = served {
        eprintln!(
            "error: cannot listen on {} for /metrics: {error}; set http.listen_address (OFFLOAD_HTTP__LISTEN_ADDRESS) to a free address",
            config.http.listen_address
        );
        return ExitCode::FAILURE;
    }

    let worker = match Worker::start(&config, telemetry, health, shutdown).await {
        Ok(worker) => worker,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            return ExitCode::FAILURE;
        }
    };
    worker.run().await;
    ExitCode::SUCCESS
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler installs");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler installs");
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    info!(signal = name, "stop requested");
    shutdown.cancel();
}

fn init_tracing(format: LogFormat) {
    // apache-avro warns about every one-branch union, and the action union
    // has one branch by design until more action types exist.
    let filter = EnvFilter::try_from_env("OFFLOAD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("apache_avro::schema=error".parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
