//! The wire format of offload: the Avro schemas in `avro/`, the event model
//! they describe, and the codec that producer and worker share.
//!
//! - [`model`]: [`DispatchEvent`] and its actions as plain Rust types.
//! - [`codec`]: [`Codec`] encodes events as Avro single-object encoding and
//!   decodes records written with any known schema version, resolving the
//!   writer's schema against the current one.
//! - [`value`]: conversion between the model and Avro's generic values.

pub mod codec;
pub mod model;
mod value;

pub use codec::{Codec, DecodeError, EncodeError};
pub use model::{Action, CassandraWrite, Consistency, CqlValue, DispatchEvent};

/// The current schema of [`DispatchEvent`], as JSON.
pub const DISPATCH_EVENT_SCHEMA: &str = include_str!("../avro/dispatch_event.avsc");

/// Content type that producers put in the `content-type` header of a record.
pub const CONTENT_TYPE: &str = "application/vnd.offload.dispatch-event+avro";
