//! The event model: the work a primary service hands to the worker.
//!
//! - [`DispatchEvent`] and [`Action`]: the record on the dispatch topic.
//! - [`cassandra`]: [`CassandraWrite`] and the bound values.
//! - [`push`]: [`ApnsPush`] and [`FcmPush`].
//! - [`feedback`]: [`PushFeedback`], the record on the feedback topic.
//!
//! Every Avro enum has an `Unknown` variant first: the schema names it as the
//! enum's default, so a reader decodes a symbol added in a later schema
//! version to `Unknown` instead of failing.

pub mod cassandra;
pub mod feedback;
pub mod push;

use uuid::Uuid;

pub use cassandra::{CassandraWrite, Consistency, CqlValue, SerialConsistency};
pub use feedback::{FeedbackReason, PushFeedback, PushPlatform};
pub use push::{
    AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, FcmAndroidConfig,
    FcmNotification, FcmPush,
};

/// The actions one request dispatched for one entity, executed in order.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchEvent {
    /// Unique id chosen by the producer.
    pub event_id: Uuid,
    /// The entity every action concerns; also the Kafka record key.
    pub entity_key: String,
    /// Creation time in microseconds since the Unix epoch.
    pub created_at_us: i64,
    /// Name of the publishing service.
    pub source_service: String,
    /// The actions, in execution order.
    pub actions: Vec<Action>,
}

/// One unit of work inside an event. In JSON (feature `serde`) an object
/// with one key: `cassandra_write`, `apns_push` or `fcm_push`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Action {
    /// A statement from the worker's catalog with bound values.
    CassandraWrite(CassandraWrite),
    /// A notification to one Apple device.
    ApnsPush(Box<ApnsPush>),
    /// A message through Firebase Cloud Messaging.
    FcmPush(Box<FcmPush>),
}

impl Action {
    /// Returns the action's kind as used in logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CassandraWrite(_) => "cassandra_write",
            Action::ApnsPush(_) => "apns_push",
            Action::FcmPush(_) => "fcm_push",
        }
    }
}

impl From<CassandraWrite> for Action {
    fn from(write: CassandraWrite) -> Action {
        Action::CassandraWrite(write)
    }
}

impl From<ApnsPush> for Action {
    fn from(push: ApnsPush) -> Action {
        Action::ApnsPush(Box::new(push))
    }
}

impl From<FcmPush> for Action {
    fn from(push: FcmPush) -> Action {
        Action::FcmPush(Box::new(push))
    }
}

/// Declares a Rust enum for an Avro enum whose first symbol is `UNKNOWN`,
/// with its symbols in schema order.
macro_rules! avro_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $symbol:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
        pub enum $name {
            /// A symbol written by a newer schema that this reader does not know.
            #[cfg_attr(feature = "serde", serde(rename = "UNKNOWN"))]
            Unknown,
            $($(#[$vmeta])* #[cfg_attr(feature = "serde", serde(rename = $symbol))] $variant),+
        }

        impl $name {
            /// The symbols of the Avro enum, in schema order.
            pub const SYMBOLS: &'static [$name] = &[$name::Unknown, $($name::$variant),+];

            /// Returns the Avro symbol.
            pub fn symbol(self) -> &'static str {
                match self {
                    $name::Unknown => "UNKNOWN",
                    $($name::$variant => $symbol),+
                }
            }

            /// Returns the position of the symbol in the Avro enum.
            pub fn index(self) -> u32 {
                $name::SYMBOLS
                    .iter()
                    .position(|known| *known == self)
                    .expect("SYMBOLS lists every variant") as u32
            }

            /// Parses an Avro symbol, case-insensitively.
            pub fn from_symbol(symbol: &str) -> Option<$name> {
                $name::SYMBOLS
                    .iter()
                    .copied()
                    .find(|known| known.symbol().eq_ignore_ascii_case(symbol))
            }
        }
    };
}
pub(crate) use avro_enum;
