//! The fixture most end-to-end tests start from: fresh topics, group and
//! keyspace, and a worker configuration pointing at them.

use scylla::client::session::Session;

use crate::stack::{cassandra_session, create_keyspace, create_topic, unique_name};
use crate::worker_process::WorkerConfigBuilder;

/// Fresh Kafka and Cassandra names for one test.
pub struct Scenario {
    /// The dispatch topic.
    pub topic: String,
    /// The dead-letter topic.
    pub dead_letter_topic: String,
    /// The consumer group.
    pub group: String,
    /// The keyspace.
    pub keyspace: String,
    /// A session to read results with.
    pub session: Session,
    /// Worker configuration for these names, with the statements added.
    pub config: WorkerConfigBuilder,
}

impl Scenario {
    /// Creates a dispatch topic with `partitions` partitions, a dead-letter
    /// topic, a keyspace with `tables` and a configuration with `statements`
    /// (name, CQL, idempotent). `{ks}` in tables and CQL is the keyspace.
    pub async fn new(partitions: i32, tables: &[&str], statements: &[(&str, &str, bool)]) -> anyhow::Result<Scenario> {
        let topic = unique_name("dispatch");
        let dead_letter_topic = format!("{topic}_dlq");
        let group = unique_name("group");
        let keyspace = unique_name("e2e");
        create_topic(&topic, partitions).await?;
        create_topic(&dead_letter_topic, 1).await?;
        let session = cassandra_session().await?;
        create_keyspace(&session, &keyspace, tables).await?;

        let mut config = WorkerConfigBuilder::new(&topic, &dead_letter_topic, &group);
        for (name, cql, idempotent) in statements {
            config = config.statement(name, &cql.replace("{ks}", &keyspace), *idempotent);
        }
        Ok(Scenario {
            topic,
            dead_letter_topic,
            group,
            keyspace,
            session,
            config,
        })
    }
}
