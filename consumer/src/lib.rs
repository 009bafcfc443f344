//! The offload worker: a Kafka consumer group that executes dispatch events
//! and commits an offset only after the work it covers is done.
//!
//! - [`config`]: the worker's configuration file and environment overrides.
//! - [`kafka`]: the consumer, its rebalance handling and offset commits.
//! - [`offsets`]: a partition's lowest unfinished offset.
//! - [`executor`]: runs the actions of an event (Cassandra writes, APNs and
//!   FCM pushes) and classifies failures as retryable or permanent.
//! - [`dead_letter`]: publishes events that can never succeed, with the reason.
//! - [`feedback`]: publishes device tokens that APNs or FCM reported gone.
//! - [`lag`]: a group's committed offsets against the log end.
//! - [`scheduler`]: per-key ordering and in-flight windows.
//! - [`process`]: one record's decode, execution, retries and dead letter.
//! - [`telemetry`]: logs and Prometheus metrics of the worker's events.
//! - [`http`]: `/metrics`, `/healthz` and `/readyz`.
//! - [`worker`]: the run loop that ties them together.

pub mod config;
pub mod dead_letter;
pub mod executor;
pub mod feedback;
pub mod http;
pub mod kafka;
pub mod lag;
pub mod offsets;
pub mod partition_queues;
pub mod process;
pub mod scheduler;
pub mod telemetry;
pub mod worker;

pub use config::WorkerConfig;
pub use worker::Worker;
