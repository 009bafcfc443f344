//! Helpers for offload's end-to-end tests against the real local stack.
//!
//! Every test gets its own topics, consumer group and keyspace, named from
//! [`unique_name`], so tests run in parallel and leave each other alone.
//! The stack is found at `127.0.0.1:9092` (Kafka) and `127.0.0.1:9042`
//! (CQL) unless `OFFLOAD_KAFKA_BOOTSTRAP` or `OFFLOAD_CASSANDRA_CONTACT_POINT`
//! name another address. `deploy/local/stack up` starts it.

pub mod faults;
pub mod http;
pub mod newer_schema;
pub mod push;
pub mod registry;
mod scenario;
pub mod sequence;
mod stack;
mod worker_process;
pub mod workload;

pub use scenario::Scenario;
pub use stack::{
    cassandra_contact_point, cassandra_session, create_keyspace, create_topic, end_offsets, group_lags,
    kafka_bootstrap, publish_events, publish_unvalidated, read_topic, unique_name, wait_for_drain, ReadRecord,
};
pub use worker_process::{worker_binary, WorkerConfigBuilder, WorkerProcess};
