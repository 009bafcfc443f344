//! The event model: what a primary service asks the worker to do.

use uuid::Uuid;

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

/// One unit of work inside an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A statement from the worker's catalog with bound values.
    CassandraWrite(CassandraWrite),
}

impl Action {
    /// Returns the action's kind as used in logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CassandraWrite(_) => "cassandra_write",
        }
    }
}

/// A write through a named statement of the worker's catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct CassandraWrite {
    /// Name of the statement in the worker's catalog.
    pub statement: String,
    /// Values for the bind markers, in marker order.
    pub values: Vec<CqlValue>,
    /// Consistency level; `None` uses the catalog's level.
    pub consistency: Option<Consistency>,
    /// Time to live of the written cells in seconds; `None` uses the table's default.
    pub ttl_secs: Option<i32>,
    /// Write timestamp in microseconds; `None` uses the event's creation time.
    pub timestamp_us: Option<i64>,
}

/// A bound value. The prepared statement's column type decides how it is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum CqlValue {
    /// Deletes the column's value (writes a tombstone).
    Null,
    /// Leaves the column untouched.
    Unset,
    /// CQL `boolean`.
    Boolean(bool),
    /// CQL `int`, or a narrower integer column.
    Int(i32),
    /// CQL `bigint` or a `counter` delta.
    BigInt(i64),
    /// CQL `double`.
    Double(f64),
    /// CQL `text` or `ascii`.
    Text(String),
    /// CQL `blob`.
    Blob(Vec<u8>),
}

/// CQL consistency levels of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// A level written by a newer schema that this reader does not know.
    Unknown,
    /// `ANY`
    Any,
    /// `ONE`
    One,
    /// `TWO`
    Two,
    /// `THREE`
    Three,
    /// `QUORUM`
    Quorum,
    /// `ALL`
    All,
    /// `LOCAL_QUORUM`
    LocalQuorum,
    /// `EACH_QUORUM`
    EachQuorum,
    /// `LOCAL_ONE`
    LocalOne,
}

impl Consistency {
    /// The symbols of the Avro enum, in schema order.
    pub(crate) const SYMBOLS: [Consistency; 10] = [
        Consistency::Unknown,
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
        Consistency::LocalQuorum,
        Consistency::EachQuorum,
        Consistency::LocalOne,
    ];

    /// Returns the Avro symbol, which is also the CQL name of the level.
    pub fn symbol(self) -> &'static str {
        match self {
            Consistency::Unknown => "UNKNOWN",
            Consistency::Any => "ANY",
            Consistency::One => "ONE",
            Consistency::Two => "TWO",
            Consistency::Three => "THREE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
            Consistency::LocalQuorum => "LOCAL_QUORUM",
            Consistency::EachQuorum => "EACH_QUORUM",
            Consistency::LocalOne => "LOCAL_ONE",
        }
    }

    /// Parses an Avro symbol or CQL level name, case-insensitively.
    pub fn from_symbol(symbol: &str) -> Option<Consistency> {
        Consistency::SYMBOLS
            .into_iter()
            .find(|level| level.symbol().eq_ignore_ascii_case(symbol))
    }
}
