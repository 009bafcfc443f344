//! The worker's configuration: a TOML file with `OFFLOAD_` environment
//! overrides, where `__` separates nesting levels
//! (`OFFLOAD_CASSANDRA__CONTACT_POINTS='["10.0.0.1:9042"]'`).
//!
//! Keys under `[kafka]` are librdkafka settings passed through unchanged. In
//! environment variables, which cannot contain dots, write `_` for `.`:
//! `OFFLOAD_KAFKA__BOOTSTRAP_SERVERS` sets `bootstrap.servers`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use offload_push::{ApnsConfig, FcmConfig};
use offload_schemas::Consistency;
use serde::Deserialize;

use offload_schemas::dml::check_dml;

/// Errors of loading or checking the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file or an environment variable does not parse into the schema,
    /// for example an unknown key or a value of the wrong type.
    #[error("invalid configuration: {}", load_error::describe(.0))]
    Load(Box<figment::Error>),
    /// A value parsed but breaks a rule.
    #[error("invalid configuration key `{key}`: {reason}")]
    Invalid {
        /// Dotted path of the key.
        key: String,
        /// The broken rule and the fix.
        reason: String,
    },
}

/// The whole worker configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// librdkafka consumer settings, passed through. `bootstrap.servers` and
    /// `group.id` are required.
    #[serde(default)]
    pub kafka: BTreeMap<String, KafkaValue>,
    /// Topic names.
    #[serde(default)]
    pub topics: TopicsConfig,
    /// Cassandra connection.
    #[serde(default)]
    pub cassandra: CassandraConfig,
    /// Run loop, concurrency, retry and shutdown settings.
    #[serde(default)]
    pub worker: RunConfig,
    /// The metrics and health endpoint.
    #[serde(default)]
    pub http: HttpConfig,
    /// Writer schemas the worker accepts besides the ones it ships.
    #[serde(default)]
    pub schemas: SchemasConfig,
    /// The statement catalog: name → statement. Events refer to statements by name.
    #[serde(default)]
    pub statements: BTreeMap<String, StatementConfig>,
    /// The APNs client. Without it, APNs push actions are dead-lettered as
    /// `push_not_configured`.
    #[serde(default)]
    pub apns: Option<ApnsConfig>,
    /// The FCM client. Without it, FCM push actions are dead-lettered as
    /// `push_not_configured`.
    #[serde(default)]
    pub fcm: Option<FcmConfig>,
}

/// A librdkafka setting value; TOML numbers and booleans are accepted as-is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum KafkaValue {
    /// A string value.
    Text(String),
    /// An integer value.
    Integer(i64),
    /// A floating-point value.
    Float(f64),
    /// A boolean value.
    Boolean(bool),
}

impl fmt::Display for KafkaValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KafkaValue::Text(text) => f.write_str(text),
            KafkaValue::Integer(integer) => write!(f, "{integer}"),
            KafkaValue::Float(float) => write!(f, "{float}"),
            KafkaValue::Boolean(boolean) => write!(f, "{boolean}"),
        }
    }
}

/// Topic names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// The topic the worker consumes.
    pub dispatch: String,
    /// Topic for events that can never succeed, with the reason in headers.
    pub dead_letter: String,
    /// Topic for `PushFeedback` records, keyed by device token: tokens that
    /// APNs or FCM reported as no longer valid, for the primary service to
    /// delete.
    pub push_feedback: String,
}

impl Default for TopicsConfig {
    fn default() -> TopicsConfig {
        TopicsConfig {
            dispatch: "offload.dispatch".into(),
            dead_letter: "offload.dead-letter".into(),
            push_feedback: "offload.push-feedback".into(),
        }
    }
}

/// Cassandra connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CassandraConfig {
    /// Contact points, `host:port`.
    pub contact_points: Vec<String>,
    /// Time allowed to reach the cluster at start-up, in seconds.
    pub connect_timeout_secs: u64,
    /// Client-side timeout of one request, in seconds.
    pub request_timeout_secs: u64,
    /// Whether events may carry their own CQL text instead of naming a
    /// catalog statement. Even then the text must be one INSERT, UPDATE or
    /// DELETE, or a batch of them, and anything else is dead-lettered.
    pub allow_raw_dml: bool,
    /// Maximum number of raw statements kept prepared. Beyond it, the least
    /// recently used one is dropped. Only used with `allow_raw_dml`.
    pub raw_dml_cache_size: usize,
    /// Consistency level of raw statements whose event gives none.
    pub raw_dml_consistency: String,
}

impl Default for CassandraConfig {
    fn default() -> CassandraConfig {
        CassandraConfig {
            contact_points: vec!["127.0.0.1:9042".into()],
            connect_timeout_secs: 10,
            request_timeout_secs: 12,
            allow_raw_dml: false,
            raw_dml_cache_size: 1_000,
            raw_dml_consistency: default_consistency(),
        }
    }
}

/// Run loop settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Interval of the periodic commit of finished offsets, in milliseconds.
    /// A partition with half its window finished but not committed gets a
    /// commit sooner.
    pub commit_interval_ms: u64,
    /// First delay before retrying a retryable failure, in milliseconds.
    pub retry_initial_backoff_ms: u64,
    /// Cap of the exponential retry delay, in milliseconds.
    pub retry_max_backoff_ms: u64,
    /// Attempts after which a retryable failure goes to the dead-letter
    /// topic. Unset (the default) retries without limit, so nothing is lost.
    pub max_attempts: Option<u32>,
    /// Time allowed at start-up to reach the Kafka cluster, in seconds.
    pub kafka_connect_timeout_secs: u64,
    /// Whether events of different entities in one partition run
    /// concurrently. Events of the same entity always run in offset order.
    pub key_parallelism: bool,
    /// Offsets of one partition between its last commit that Kafka
    /// confirmed and its highest received record, finished or not, at which
    /// the worker stops reading the partition until a confirmed commit brings
    /// them down to half. It bounds the memory per partition and the records
    /// a crash replays.
    pub max_in_flight_per_partition: usize,
    /// Events executing at once over all partitions.
    pub max_concurrent_events: usize,
    /// Time a revoked partition's running events get to finish before its
    /// offset is committed and it is released, in milliseconds.
    pub revoke_timeout_ms: u64,
    /// Time running events get to finish after SIGTERM or SIGINT, in
    /// milliseconds. Keep it below the group's `session.timeout.ms`.
    pub shutdown_timeout_ms: u64,
    /// Handling of a non-idempotent write (a counter update) that timed out
    /// so that Cassandra cannot tell whether it was applied.
    pub unknown_outcome: UnknownOutcome,
}

impl Default for RunConfig {
    fn default() -> RunConfig {
        RunConfig {
            commit_interval_ms: 1_000,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 30_000,
            max_attempts: None,
            kafka_connect_timeout_secs: 10,
            key_parallelism: true,
            max_in_flight_per_partition: 2_000,
            max_concurrent_events: 256,
            revoke_timeout_ms: 10_000,
            shutdown_timeout_ms: 20_000,
            unknown_outcome: UnknownOutcome::Retry,
        }
    }
}

impl RunConfig {
    /// [`RunConfig::commit_interval_ms`] as a duration.
    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.commit_interval_ms)
    }

    /// [`RunConfig::revoke_timeout_ms`] as a duration.
    pub fn revoke_timeout(&self) -> Duration {
        Duration::from_millis(self.revoke_timeout_ms)
    }

    /// [`RunConfig::shutdown_timeout_ms`] as a duration.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }
}

/// Handling of a non-idempotent write whose outcome is unknown after a
/// write timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownOutcome {
    /// Retry the write. It may then be applied twice: a counter may count
    /// one event twice, but never loses one.
    Retry,
    /// Send the event to the dead-letter topic, so an operator decides. The
    /// counter may then miss the event until it is replayed.
    DeadLetter,
}

/// Writer schemas beyond the ones built in, and the schema registry.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemasConfig {
    /// Paths of `DispatchEvent` schema files (`.avsc`) that producers may
    /// write with, for example a newer version deployed to producers first.
    /// Records written with them are resolved against the worker's schema.
    pub writer_schema_files: Vec<std::path::PathBuf>,
    /// Base URL of a Confluent-compatible schema registry, such as
    /// `http://registry:8081`. The worker fetches the writer schemas of
    /// records in the Confluent wire format (a zero byte and a schema id)
    /// from it. Unset, such records are dead-lettered.
    pub registry_url: Option<String>,
    /// User name of HTTP basic authentication at the registry.
    pub registry_username: Option<String>,
    /// Password of HTTP basic authentication at the registry.
    pub registry_password: Option<String>,
    /// Timeout of one registry request, in seconds.
    pub registry_timeout_secs: u64,
}

impl Default for SchemasConfig {
    fn default() -> SchemasConfig {
        SchemasConfig {
            writer_schema_files: Vec::new(),
            registry_url: None,
            registry_username: None,
            registry_password: None,
            registry_timeout_secs: 10,
        }
    }
}

// The password stays out of logs and error messages.
impl fmt::Debug for SchemasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemasConfig")
            .field("writer_schema_files", &self.writer_schema_files)
            .field("registry_url", &self.registry_url)
            .field("registry_username", &self.registry_username)
            .field(
                "registry_password",
                &self.registry_password.as_ref().map(|_| "<redacted>"),
            )
            .field("registry_timeout_secs", &self.registry_timeout_secs)
            .finish()
    }
}

/// The metrics and health endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the HTTP server for `/metrics`, `/healthz` and `/readyz`.
    pub listen_address: String,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            listen_address: "0.0.0.0:9464".into(),
        }
    }
}

/// One entry of the statement catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementConfig {
    /// The CQL text, with `?` bind markers and keyspace-qualified table names
    /// (`ks.table`). `USING TTL ?` and
    /// `USING TIMESTAMP ?` markers are bound from the event's TTL and write
    /// timestamp, not from its values.
    pub cql: String,
    /// Consistency level when the event gives none, for example `LOCAL_QUORUM`.
    #[serde(default = "default_consistency")]
    pub consistency: String,
    /// Serial consistency of conditional statements (`IF …`): `SERIAL` or `LOCAL_SERIAL`.
    #[serde(default)]
    pub serial_consistency: Option<String>,
    /// Whether executing the statement twice has the same effect as once.
    /// Counter updates are not idempotent.
    #[serde(default)]
    pub idempotent: bool,
    /// Whether the write timestamp is the event's creation time (the
    /// default), so that a replayed or late write cannot overwrite a newer
    /// one. `false` lets Cassandra assign the time of the write.
    #[serde(default = "default_true")]
    pub use_event_timestamp: bool,
}

fn default_true() -> bool {
    true
}

impl WorkerConfig {
    /// Lets librdkafka check every `[kafka]` key and value without creating
    /// a client, so a typo fails the configuration check, not the start.
    fn validate_kafka_settings(&self) -> Result<(), ConfigError> {
        for (key, value) in &self.kafka {
            let mut single = rdkafka::config::ClientConfig::new();
            single.set(key, value.to_string());
            if let Err(error) = single.create_native_config() {
                return Err(ConfigError::Invalid {
                    key: format!("kafka.\"{key}\""),
                    reason: format!(
                        "librdkafka rejects it ({error}); check the name and value against librdkafka's CONFIGURATION.md"
                    ),
                });
            }
        }
        Ok(())
    }
}

impl WorkerConfig {
    /// Checks the `[apns]` and `[fcm]` tables and the feedback topic.
    fn validate_push(&self) -> Result<(), ConfigError> {
        let invalid = |error: offload_push::config::ConfigError| ConfigError::Invalid {
            key: error.key.into(),
            reason: error.reason,
        };
        if let Some(apns) = &self.apns {
            apns.validate().map_err(invalid)?;
        }
        if let Some(fcm) = &self.fcm {
            fcm.validate().map_err(invalid)?;
        }
        if self.apns.is_none() && self.fcm.is_none() {
            return Ok(());
        }
        let topic = &self.topics.push_feedback;
        if topic.is_empty() {
            return Err(ConfigError::Invalid {
                key: "topics.push_feedback".into(),
                reason: "empty; name the topic that receives the tokens APNs and FCM report as gone".into(),
            });
        }
        if *topic == self.topics.dispatch || *topic == self.topics.dead_letter {
            return Err(ConfigError::Invalid {
                key: "topics.push_feedback".into(),
                reason: format!(
                    "`{topic}` is also the dispatch or dead-letter topic; feedback records need a topic of their own"
                ),
            });
        }
        Ok(())
    }
}

impl WorkerConfig {
    /// Checks the raw DML keys of `[cassandra]`.
    fn validate_raw_dml(&self) -> Result<(), ConfigError> {
        let cassandra = &self.cassandra;
        if cassandra.raw_dml_cache_size == 0 {
            return Err(ConfigError::Invalid {
                key: "cassandra.raw_dml_cache_size".into(),
                reason: "must be above 0".into(),
            });
        }
        if Consistency::from_symbol(&cassandra.raw_dml_consistency).is_none() {
            return Err(ConfigError::Invalid {
                key: "cassandra.raw_dml_consistency".into(),
                reason: format!(
                    "`{}` is not a consistency level; use one of {CONSISTENCY_LEVELS}",
                    cassandra.raw_dml_consistency
                ),
            });
        }
        Ok(())
    }

    /// Checks the schema registry keys of `[schemas]`.
    fn validate_registry(&self) -> Result<(), ConfigError> {
        let schemas = &self.schemas;
        if let Some(url) = &schemas.registry_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "schemas.registry_url".into(),
                    reason: format!("`{url}` is not an http:// or https:// URL"),
                });
            }
        }
        if schemas.registry_password.is_some() && schemas.registry_username.is_none() {
            return Err(ConfigError::Invalid {
                key: "schemas.registry_username".into(),
                reason: "missing; basic authentication needs a user name with schemas.registry_password".into(),
            });
        }
        if schemas.registry_url.is_none() && schemas.registry_username.is_some() {
            return Err(ConfigError::Invalid {
                key: "schemas.registry_url".into(),
                reason: "missing; the registry credentials are set but no registry URL".into(),
            });
        }
        if schemas.registry_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "schemas.registry_timeout_secs".into(),
                reason: "must be above 0".into(),
            });
        }
        Ok(())
    }
}

/// The levels a consistency key accepts, for error messages.
const CONSISTENCY_LEVELS: &str = "ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE";

/// Returns the error for the first statement whose serial consistency is invalid.
fn statement_serial_level(config: &WorkerConfig) -> Option<ConfigError> {
    config.statements.iter().find_map(|(name, statement)| {
        let level = statement.serial_consistency.as_deref()?;
        if level.eq_ignore_ascii_case("SERIAL") || level.eq_ignore_ascii_case("LOCAL_SERIAL") {
            return None;
        }
        Some(ConfigError::Invalid {
            key: format!("statements.{name}.serial_consistency"),
            reason: format!("`{level}` is not a serial consistency level; use SERIAL or LOCAL_SERIAL"),
        })
    })
}

fn default_consistency() -> String {
    "LOCAL_QUORUM".into()
}

impl WorkerConfig {
    /// Loads `path` (when given) and applies `OFFLOAD_` environment overrides.
    pub fn load(path: Option<&Path>) -> Result<WorkerConfig, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.is_file() {
                return Err(ConfigError::Invalid {
                    key: "--config".into(),
                    reason: format!(
                        "{} is not a file; give the path of a worker TOML file (deploy/local/worker.toml is an example)",
                        path.display()
                    ),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only nested keys are configuration, so that variables such as
        // OFFLOAD_STACK_DIR of the local stack script are not taken for keys.
        let environment = Env::prefixed("OFFLOAD_")
            .filter(|key| key.as_str().contains("__"))
            .split("__");
        let mut config: WorkerConfig = figment
            .merge(environment)
            .extract()
            .map_err(|error| ConfigError::Load(Box::new(error)))?;

        // A key given both ways ends up once: `_` sorts after `.`, so the
        // environment's spelling comes later in the map and wins.
        config.kafka = config
            .kafka
            .into_iter()
            .map(|(key, value)| (key.replace('_', "."), value))
            .collect();
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules that span several keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for required in ["bootstrap.servers", "group.id"] {
            if !self.kafka.contains_key(required) {
                return Err(ConfigError::Invalid {
                    key: format!("kafka.\"{required}\""),
                    reason: "missing; set it in the [kafka] table or with OFFLOAD_KAFKA__".to_string()
                        + &required.replace('.', "_").to_uppercase(),
                });
            }
        }
        for owned in ["enable.auto.commit", "enable.auto.offset.store"] {
            if self.kafka.contains_key(owned) {
                return Err(ConfigError::Invalid {
                    key: format!("kafka.\"{owned}\""),
                    reason: "the worker commits offsets itself after the work is done; remove this key".into(),
                });
            }
        }
        if self.cassandra.contact_points.is_empty() {
            return Err(ConfigError::Invalid {
                key: "cassandra.contact_points".into(),
                reason: "empty; list at least one host:port".into(),
            });
        }
        for (name, statement) in &self.statements {
            if let Err(error) = check_dml(&statement.cql) {
                return Err(ConfigError::Invalid {
                    key: format!("statements.{name}.cql"),
                    reason: format!("statement `{name}` is not a single DML statement: {error}"),
                });
            }
            if Consistency::from_symbol(&statement.consistency).is_none() {
                return Err(ConfigError::Invalid {
                    key: format!("statements.{name}.consistency"),
                    reason: format!(
                        "`{}` is not a consistency level; use one of {CONSISTENCY_LEVELS}",
                        statement.consistency
                    ),
                });
            }
        }
        if let Some(error) = statement_serial_level(self) {
            return Err(error);
        }
        self.validate_push()?;
        self.validate_raw_dml()?;
        self.validate_registry()?;
        if self.worker.max_in_flight_per_partition == 0 || self.worker.max_concurrent_events == 0 {
            return Err(ConfigError::Invalid {
                key: "worker.max_in_flight_per_partition".into(),
                reason: "must be above 0, as must worker.max_concurrent_events".into(),
            });
        }
        let positive = [
            ("worker.commit_interval_ms", self.worker.commit_interval_ms),
            (
                "worker.kafka_connect_timeout_secs",
                self.worker.kafka_connect_timeout_secs,
            ),
            ("worker.revoke_timeout_ms", self.worker.revoke_timeout_ms),
            ("worker.shutdown_timeout_ms", self.worker.shutdown_timeout_ms),
            ("cassandra.connect_timeout_secs", self.cassandra.connect_timeout_secs),
            ("cassandra.request_timeout_secs", self.cassandra.request_timeout_secs),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::Invalid {
                key: (*key).into(),
                reason: "must be above 0".into(),
            });
        }
        self.validate_kafka_settings()?;
        if self.worker.max_attempts == Some(0) {
            return Err(ConfigError::Invalid {
                key: "worker.max_attempts".into(),
                reason: "must be at least 1; remove the key to retry without limit".into(),
            });
        }
        if self.worker.retry_initial_backoff_ms == 0
            || self.worker.retry_max_backoff_ms < self.worker.retry_initial_backoff_ms
        {
            return Err(ConfigError::Invalid {
                key: "worker.retry_max_backoff_ms".into(),
                reason: "must be at least worker.retry_initial_backoff_ms, which must be above 0".into(),
            });
        }
        Ok(())
    }
}

mod load_error;

#[cfg(test)]
mod tests;
