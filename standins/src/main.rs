//! `offload-standins`: runs the stand-in APNs and FCM servers on loopback for
//! the demo and for tests in other processes, and prints where they listen.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use offload_standins::{Fault, StandIns, StandInsConfig};

/// Stand-in APNs and FCM servers that speak the real protocols.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Folder for the generated CA certificate, keys and service account file.
    #[arg(long, default_value = "target/standins")]
    dir: PathBuf,
    /// Address to listen on; the stand-ins are for loopback.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// APNs port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    apns_port: u16,
    /// FCM and OAuth2 port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    fcm_port: u16,
    /// Control API port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Authenticate APNs providers by TLS client certificate instead of token.
    #[arg(long)]
    apns_client_certificates: bool,
    /// The app's bundle id, the base of every apns-topic.
    #[arg(long, default_value = "com.example.app")]
    bundle_id: String,
    /// The Firebase project id.
    #[arg(long, default_value = "offload-demo")]
    fcm_project: String,
    /// SETTINGS_MAX_CONCURRENT_STREAMS of each APNs connection.
    #[arg(long, default_value_t = 1000)]
    apns_max_concurrent_streams: u32,
    /// Delay added to every APNs response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    apns_latency_ms: u64,
    /// Delay added to every FCM response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    fcm_latency_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OFFLOAD_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut config = StandInsConfig::new(&args.dir);
    config.bind = args.bind;
    config.apns_port = args.apns_port;
    config.fcm_port = args.fcm_port;
    config.control_port = args.control_port;
    config.apns_client_certificates = args.apns_client_certificates;
    config.bundle_id = args.bundle_id;
    config.fcm_project_id = args.fcm_project;
    config.apns_max_concurrent_streams = args.apns_max_concurrent_streams;
    config.access_token_lifetime = Duration::from_secs(3600);
    let stand_ins = StandIns::start(config).await.context("cannot start the stand-ins")?;

    let latency = |latency_ms| Fault {
        latency_ms,
        ..Fault::default()
    };
    stand_ins.apns_faults().set_global(latency(args.apns_latency_ms));
    stand_ins.fcm_faults().set_global(latency(args.fcm_latency_ms));

    let credentials = &stand_ins.credentials;
    println!("apns     {}", stand_ins.apns_url());
    println!("fcm      {}", stand_ins.fcm_url());
    println!("control  {}", stand_ins.control_url());
    println!("ca       {}", credentials.ca_certificate.display());
    println!(
        "apns-key {} (key id {}, team id {})",
        credentials.apns_key.display(),
        credentials.apns_key_id,
        credentials.apns_team_id
    );
    println!("fcm-key  {}", credentials.fcm_service_account.display());

    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    Ok(())
}
