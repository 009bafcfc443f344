//! Benchmarks of offload against the real local Kafka and Cassandra. Each
//! one reports its result as a ratio to limits measured in the same run on
//! the same machine, because absolute rates depend on the machine and its
//! load.
//!
//! - [`drain`]: the worker draining a backlog, against the raw consume and
//!   raw insert limits; its [`report`] prints the summary table.
//! - [`backlog`]: the backlog's events and rows, and their publication.
//! - [`raw_consume`] and [`raw_insert`]: the two limits.
//! - [`worker_run`]: the worker binary as a timed child process.
//! - [`verify`]: the row count, a sample of row values and the dead letters.
//! - [`process_stats`]: memory and CPU time of a process from `/proc`.
//! - [`rate`]: a count over a measured duration.
//! - [`push`]: the worker's push rate against the APNs stand-in with
//!   injected latency, against the latency bound and the raw client rate.

pub mod backlog;
pub mod cpu_split;
pub mod drain;
pub mod process_stats;
pub mod push;
pub mod rate;
pub mod raw_consume;
pub mod raw_insert;
pub mod report;
pub mod verify;
pub mod worker_run;

pub use drain::{DrainOptions, DrainReport};
