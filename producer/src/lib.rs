//! The library that primary services link to hand work to offload.
//!
//! - [`Publisher`]: one per process. Encodes [`DispatchEvent`]s and publishes
//!   them to the dispatch topic keyed by entity, with an idempotent producer.
//! - [`Dispatcher`]: one per request. Collects actions for any number of
//!   entities and, at the end of the request, publishes one event per entity
//!   without waiting for delivery.
//! - [`Delivery`]: the outcome of one publish, to await when the caller wants to.
//!
//! [`DispatchEvent`]: offload_schemas::DispatchEvent

mod dispatcher;
mod publisher;

pub use dispatcher::{DispatchError, Dispatcher};
pub use publisher::{
    Delivered, Delivery, PublishError, Publisher, PublisherConfig, CONTENT_TYPE_HEADER, EVENT_ID_HEADER,
};
