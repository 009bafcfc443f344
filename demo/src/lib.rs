//! `offload-demo`: offload's main job on real input.
//!
//! It replays an Instagram-like workload built from real interaction logs
//! (a Stack Exchange site dump and the CollegeMsg message log, in
//! `demo/data/`) through the producer library. An `offload-worker` executes
//! it against Cassandra and the stand-in push servers. Then the demo checks
//! every counter, row and notification against values counted from the input.
//!
//! - [`input`]: parses the logs.
//! - [`people`]: UUIDv5 ids, regions and device tokens.
//! - [`workload`]: the requests, in replay order.
//! - [`events`]: the actions each request dispatches (the primary service's side).
//! - [`expected`]: what the tables and devices must hold, counted separately.
//! - [`schema`]: tables and the worker's statement catalog.
//! - [`worker`] and [`metrics`]: the worker process and its `/metrics`.
//! - [`pinned`]: the entity whose event held a partition's commit back at a kill.
//! - [`replay`]: rate, progress bar, kills and the wait for zero lag.
//! - [`verify`]: reads everything back and compares.
//! - [`standins`]: finds or starts the stand-in push servers.
//! - [`run`] and [`summary`]: one run and its printed summary.

pub mod calendar;
pub mod events;
pub mod expected;
pub mod input;
pub mod metrics;
pub mod people;
pub mod pinned;
pub mod replay;
pub mod run;
pub mod schema;
pub mod standins;
pub mod summary;
pub mod verify;
pub mod worker;
pub mod workload;

pub use run::{run, DemoConfig, Outcome};
