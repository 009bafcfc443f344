//! `offload-admin`: readiness probes and topic set-up for the local stack
//! and for operators.
//!
//! - `kafka-ready`: waits until a broker responds to a metadata request.
//! - `cassandra-ready`: waits until `SELECT release_version FROM system.local` succeeds.
//! - `create-topic`: creates a topic, or checks an existing one.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use scylla::client::session_builder::SessionBuilder;

/// Readiness probes and topic set-up for offload's Kafka and Cassandra.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Waits until a Kafka broker responds to a metadata request.
    KafkaReady {
        /// Kafka bootstrap servers, host:port[,host:port…].
        #[arg(long, default_value = "127.0.0.1:9092")]
        bootstrap_servers: String,
        /// Time to wait before giving up, in seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Waits until `SELECT release_version FROM system.local` succeeds on Cassandra, and prints the version.
    CassandraReady {
        /// CQL contact point, host:port.
        #[arg(long, default_value = "127.0.0.1:9042")]
        contact_point: String,
        /// Time to wait before giving up, in seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
    },
    /// Creates a topic; an existing topic is accepted if it has at least the requested partitions.
    CreateTopic {
        /// Kafka bootstrap servers, host:port[,host:port…].
        #[arg(long, default_value = "127.0.0.1:9092")]
        bootstrap_servers: String,
        /// Topic name.
        #[arg(long)]
        name: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Replication factor.
        #[arg(long, default_value_t = 1)]
        replication_factor: i32,
    },
}

/// Delay between two readiness attempts.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::KafkaReady {
            bootstrap_servers,
            timeout_secs,
        } => kafka_ready(&bootstrap_servers, Duration::from_secs(timeout_secs)).await,
        Command::CassandraReady {
            contact_point,
            timeout_secs,
        } => cassandra_ready(&contact_point, Duration::from_secs(timeout_secs)).await,
        Command::CreateTopic {
            bootstrap_servers,
            name,
            partitions,
            replication_factor,
        } => create_topic(&bootstrap_servers, &name, partitions, replication_factor).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn kafka_ready(bootstrap_servers: &str, timeout: Duration) -> anyhow::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .create()
        .context("invalid Kafka client settings")?;
    let deadline = Instant::now() + timeout;

    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = remaining.min(Duration::from_secs(5));
        let result = tokio::task::block_in_place(|| consumer.fetch_metadata(None, attempt));
        match result {
            Ok(metadata) if !metadata.brokers().is_empty() => return Ok(()),
            Ok(_) => {}
            Err(error) if Instant::now() >= deadline => {
                bail!("Kafka at {bootstrap_servers} did not answer a metadata request within {timeout:?}: {error}")
            }
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            bail!("Kafka at {bootstrap_servers} reported no brokers within {timeout:?}");
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

async fn cassandra_ready(contact_point: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;

    loop {
        let error = match release_version(contact_point).await {
            Ok(version) => {
                println!("{version}");
                return Ok(());
            }
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            return Err(error.context(format!(
                "Cassandra at {contact_point} did not answer within {timeout:?}"
            )));
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

async fn release_version(contact_point: &str) -> anyhow::Result<String> {
    let session = SessionBuilder::new()
        .known_node(contact_point)
        .connection_timeout(Duration::from_secs(3))
        .build()
        .await?;
    let (version,) = session
        .query_unpaged("SELECT release_version FROM system.local", ())
        .await?
        .into_rows_result()?
        .single_row::<(String,)>()?;
    Ok(version)
}

async fn create_topic(
    bootstrap_servers: &str,
    name: &str,
    partitions: i32,
    replication_factor: i32,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .create()
        .context("invalid Kafka client settings")?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication_factor));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));

    let results = admin
        .create_topics([&topic], &options)
        .await
        .with_context(|| format!("creating topic `{name}` on {bootstrap_servers} failed"))?;
    for result in results {
        match result {
            Ok(_) => println!("created topic {name} with {partitions} partitions"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => check_existing(&admin, name, partitions)?,
            Err((_, code)) => bail!("creating topic `{name}` on {bootstrap_servers} failed: {code}"),
        }
    }
    Ok(())
}

fn check_existing(admin: &AdminClient<DefaultClientContext>, name: &str, partitions: i32) -> anyhow::Result<()> {
    let metadata = admin
        .inner()
        .fetch_metadata(Some(name), Duration::from_secs(10))
        .with_context(|| format!("reading the metadata of topic `{name}` failed"))?;
    let found = metadata
        .topics()
        .iter()
        .find(|topic| topic.name() == name)
        .map(|topic| topic.partitions().len() as i32)
        .unwrap_or(0);
    if found < partitions {
        bail!("topic `{name}` exists with {found} partitions, fewer than the {partitions} requested; delete it or raise its partition count");
    }
    println!("topic {name} exists with {found} partitions");
    Ok(())
}
