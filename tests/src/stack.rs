//! Access to the local Kafka and Cassandra for tests.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use offload_consumer::lag::{group_lag, PartitionLag};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

/// Kafka bootstrap servers of the stack under test.
pub fn kafka_bootstrap() -> String {
    std::env::var("OFFLOAD_KAFKA_BOOTSTRAP").unwrap_or_else(|_| {
        let port = std::env::var("OFFLOAD_KAFKA_PORT").unwrap_or_else(|_| "9092".into());
        format!("127.0.0.1:{port}")
    })
}

/// CQL contact point of the stack under test.
pub fn cassandra_contact_point() -> String {
    std::env::var("OFFLOAD_CASSANDRA_CONTACT_POINT").unwrap_or_else(|_| {
        let port = std::env::var("OFFLOAD_CQL_PORT").unwrap_or_else(|_| "9042".into());
        format!("127.0.0.1:{port}")
    })
}

/// Returns `prefix` followed by a random suffix, valid as a topic, group
/// and keyspace name.
pub fn unique_name(prefix: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &suffix[..12])
}

/// Creates a topic with `partitions` partitions.
pub async fn create_topic(name: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let results = admin
        .create_topics(
            [&topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .with_context(|| format!("creating topic {name} failed; is the stack up (deploy/local/stack up)?"))?;
    for result in results {
        if let Err((topic, code)) = result {
            bail!("creating topic {topic} failed: {code}");
        }
    }
    Ok(())
}

/// Publishes `events` with the producer library and waits until Kafka
/// acknowledged every one.
pub async fn publish_events(topic: &str, events: &[offload_schemas::DispatchEvent]) -> anyhow::Result<()> {
    let config = offload_producer::PublisherConfig::new(kafka_bootstrap(), topic, "offload-e2e");
    let publisher = offload_producer::Publisher::new(config)?;
    let mut deliveries = Vec::with_capacity(events.len());
    for event in events {
        deliveries.push(publisher.publish(event.clone()).await?);
    }
    for delivery in deliveries {
        tokio::time::timeout(Duration::from_secs(30), delivery.wait())
            .await
            .context("delivery timed out")??;
    }
    Ok(())
}

/// Publishes `events` encoded by the codec with a plain Kafka producer,
/// without the producer library's validation: what another writer of the
/// topic could send. Waits until Kafka acknowledged every one.
pub async fn publish_unvalidated(topic: &str, events: &[offload_schemas::DispatchEvent]) -> anyhow::Result<()> {
    let codec = offload_schemas::Codec::new();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    for event in events {
        let payload = codec.encode(event)?;
        let record = FutureRecord::to(topic).key(&event.entity_key).payload(&payload);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)?;
    }
    Ok(())
}

/// Connects to the stack's Cassandra.
pub async fn cassandra_session() -> anyhow::Result<Session> {
    let contact_point = cassandra_contact_point();
    SessionBuilder::new()
        .known_node(&contact_point)
        .build()
        .await
        .with_context(|| {
            format!("connecting to Cassandra at {contact_point} failed; is the stack up (deploy/local/stack up)?")
        })
}

/// Creates a keyspace with replication factor 1 and the given tables.
pub async fn create_keyspace(session: &Session, keyspace: &str, tables: &[&str]) -> anyhow::Result<()> {
    let create = format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    );
    session.query_unpaged(create, ()).await?;
    for table in tables {
        let statement = table.replace("{ks}", keyspace);
        session
            .query_unpaged(statement.as_str(), ())
            .await
            .with_context(|| format!("creating table failed: {statement}"))?;
    }
    Ok(())
}

/// Returns the log-end offset of every partition of `topic`, by partition.
pub fn end_offsets(topic: &str) -> anyhow::Result<Vec<i64>> {
    let lags = group_lag(
        &kafka_bootstrap(),
        "offload-e2e-inspector",
        topic,
        Duration::from_secs(10),
    )?;
    Ok(lags.iter().map(|lag| lag.log_end).collect())
}

/// Waits until `group`'s committed offset equals the log end on every
/// partition of `topic`, and returns the final state. Fails after `timeout`
/// with the last state seen.
pub async fn wait_for_drain(group: &str, topic: &str, timeout: Duration) -> anyhow::Result<Vec<PartitionLag>> {
    let deadline = Instant::now() + timeout;
    loop {
        // A group coordinator that is still loading returns NOT_COORDINATOR
        // for a moment, so errors count as "not drained yet" until the deadline.
        let state = group_lags(group, topic).map(|lags| {
            let drained = lags
                .iter()
                .all(|lag| lag.log_end == 0 || lag.committed == Some(lag.log_end));
            (drained, lags)
        });
        match state {
            Ok((true, lags)) => return Ok(lags),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
            Ok((false, lags)) => {
                bail!("group {group} did not reach the log end of {topic} within {timeout:?}: {lags:?}")
            }
            Err(error) => return Err(error.context(format!("reading the offsets of group {group} failed"))),
        }
    }
}

/// Returns the committed offset and watermarks of `group` on every partition of `topic`.
pub fn group_lags(group: &str, topic: &str) -> anyhow::Result<Vec<PartitionLag>> {
    Ok(group_lag(&kafka_bootstrap(), group, topic, Duration::from_secs(10))?)
}

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// Partition it was read from.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its payload.
    pub payload: Option<Vec<u8>>,
    /// Its headers, as UTF-8 text where they are.
    pub headers: Vec<(String, String)>,
}

impl ReadRecord {
    /// Returns the value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads every record of `topic` from the beginning until `expected` records
/// arrived or `timeout` passed.
pub fn read_topic(topic: &str, expected: usize, timeout: Duration) -> anyhow::Result<Vec<ReadRecord>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", unique_name("reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    for found in metadata.topics().iter().filter(|found| found.name() == topic) {
        for partition in found.partitions() {
            assignment.add_partition_offset(topic, partition.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;

    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < expected && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        let value = header.value.map(String::from_utf8_lossy).unwrap_or_default();
                        (header.key.to_string(), value.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push(ReadRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
        });
    }
    Ok(records)
}
