//! The library that primary services link to hand work to offload.
//!
//! - [`Publisher`]: one per process. A bounded in-memory queue in front of an
//!   idempotent Kafka producer; a background task encodes events and
//!   publishes them to the dispatch topic keyed by entity.
//! - [`Dispatcher`]: one per request. Collects actions for any number of
//!   entities and, at the end of the request, enqueues one event per entity
//!   without waiting for Kafka.
//! - [`Delivery`]: the outcome of one event, to await when the caller wants to.
//! - [`validate_event`]: the checks `dispatch()` makes, with errors naming the field.
//! - [`json`]: events and actions as JSON lines, the input of `offload-produce`.
//!
//! Metrics (see `metrics.rs` for the list) go to the registry given in
//! [`PublisherConfig::metrics_registry`].

mod config;
mod dispatcher;
pub mod json;
mod metrics;
mod pipeline;
mod publisher;
mod trace;
mod validate;

pub use config::{FullQueuePolicy, PublisherConfig, QueueConfig};
pub use dispatcher::{DispatchError, Dispatcher};
pub use publisher::{
    Delivered, Delivery, PublishError, Publisher, CONTENT_TYPE_HEADER, EVENT_ID_HEADER, TRACEPARENT_HEADER,
};
pub use validate::{is_reserved_fcm_key, validate_event, ValidationError, APNS_MAX_COLLAPSE_ID_BYTES};
