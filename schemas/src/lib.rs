//! The wire format of offload: the Avro schemas in `avro/`, the event model
//! they describe, and the codecs that producer and worker share.
//!
//! - [`model`]: [`DispatchEvent`], its actions and [`PushFeedback`] as plain
//!   Rust types.
//! - [`codec`]: [`Codec`] encodes events in Avro single-object encoding or the
//!   Confluent wire format and decodes records written with any known schema
//!   version, resolving the writer's schema against the current one.
//! - [`registry`]: [`SchemaRegistry`], the schema registry client with its
//!   id caches.
//! - [`payload`]: the APNs payload and FCM message JSON of push actions.
//! - [`dml`]: the check that raw CQL is one INSERT, UPDATE, DELETE or batch
//!   of them, shared by the producer's validation and the worker.
//! - `binary`: the Avro binary encoder, and the decoder of records written
//!   with the current schema.
//! - `value`: conversion between the model and apache-avro's generic
//!   values, used to decode the other schema versions.

mod binary;
pub mod codec;
pub mod dml;
mod feedback_codec;
pub mod model;
pub mod payload;
pub mod registry;
#[cfg(any(test, feature = "samples"))]
pub mod samples;
mod value;

pub use codec::{Codec, DecodeError, EncodeError, WireFormat};
pub use feedback_codec::FeedbackCodec;
pub use model::{
    Action, AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, CassandraWrite,
    Consistency, CqlValue, DispatchEvent, FcmAndroidConfig, FcmNotification, FcmPush, FeedbackReason, PushFeedback,
    PushPlatform, SerialConsistency,
};
pub use registry::{value_subject, RegistryError, SchemaRegistry};

/// The current schema of [`DispatchEvent`], as JSON.
pub const DISPATCH_EVENT_SCHEMA: &str = include_str!("../avro/dispatch_event.avsc");

/// Earlier versions of the `DispatchEvent` schema, oldest first. The codec
/// decodes records written with any of them.
pub const DISPATCH_EVENT_HISTORY: &[&str] = &[
    include_str!("../avro/history/dispatch_event.v1.avsc"),
    include_str!("../avro/history/dispatch_event.v2.avsc"),
];

/// The current schema of [`PushFeedback`], as JSON.
pub const PUSH_FEEDBACK_SCHEMA: &str = include_str!("../avro/push_feedback.avsc");

/// Content type that producers put in the `content-type` header of a record.
pub const CONTENT_TYPE: &str = "application/vnd.offload.dispatch-event+avro";

/// Test-only access to the generic-value encoding that the binary encoder is
/// checked against; benchmarks compare the two.
#[doc(hidden)]
pub mod reference {
    use crate::model::DispatchEvent;

    /// Encodes `event`'s datum through apache-avro's generic `Value` tree.
    pub fn encode_datum_via_value(schema: &apache_avro::Schema, event: &DispatchEvent) -> Vec<u8> {
        apache_avro::to_avro_datum(schema, crate::value::event_to_value(event))
            .expect("the value conversion matches the DispatchEvent schema")
    }

    /// Returns `event` as apache-avro's generic value.
    pub fn event_to_value(event: &DispatchEvent) -> apache_avro::types::Value {
        crate::value::event_to_value(event)
    }
}
