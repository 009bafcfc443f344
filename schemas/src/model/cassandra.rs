//! Cassandra writes and the values they bind.

use std::net::IpAddr;

use uuid::Uuid;

use super::avro_enum;

/// A write through a named statement of the worker's catalog, or through raw
/// DML text where the worker allows it.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct CassandraWrite {
    /// Name of the statement in the worker's catalog. With [`CassandraWrite::cql`]
    /// set, a label for logs, metrics and dead letters.
    pub statement: String,
    /// Values for the bind markers, in marker order.
    #[cfg_attr(feature = "serde", serde(default))]
    pub values: Vec<CqlValue>,
    /// Consistency level; `None` uses the catalog's level.
    pub consistency: Option<Consistency>,
    /// Time to live of the written cells in seconds; `None` uses the table's default.
    pub ttl_secs: Option<i32>,
    /// Write timestamp in microseconds; `None` uses the event's creation time.
    pub timestamp_us: Option<i64>,
    /// Serial consistency of a conditional statement; `None` uses the worker's default.
    pub serial_consistency: Option<SerialConsistency>,
    /// CQL text to run instead of the catalog statement: one INSERT, UPDATE
    /// or DELETE, or a batch of them. Workers reject it unless their
    /// operator enabled raw DML, and reject anything but DML always.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cql: Option<String>,
}

impl CassandraWrite {
    /// Creates a write of `statement` with `values` and every option left to the worker.
    pub fn new(statement: impl Into<String>, values: Vec<CqlValue>) -> CassandraWrite {
        CassandraWrite {
            statement: statement.into(),
            values,
            ..CassandraWrite::default()
        }
    }

    /// Creates a write of the raw DML text `cql` with `values`, labelled
    /// `label` in logs, metrics and dead letters.
    pub fn raw(label: impl Into<String>, cql: impl Into<String>, values: Vec<CqlValue>) -> CassandraWrite {
        CassandraWrite {
            statement: label.into(),
            values,
            cql: Some(cql.into()),
            ..CassandraWrite::default()
        }
    }
}

/// A bound value. The prepared statement's column type decides how it is sent.
///
/// In JSON (feature `serde`) a value is an object with one key naming its
/// type, such as `{"bigint": 5}` or `{"uuid": "…"}`. The values `"null"`
/// and `"unset"` are strings. Blobs and decimal digits are arrays of bytes,
/// and maps are arrays of `[key, value]` pairs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum CqlValue {
    /// Deletes the column's value (writes a tombstone).
    Null,
    /// Leaves the column untouched.
    Unset,
    /// CQL `boolean`.
    Boolean(bool),
    /// CQL `int`, or a narrower integer column.
    Int(i32),
    /// CQL `bigint`.
    #[cfg_attr(feature = "serde", serde(rename = "bigint"))]
    BigInt(i64),
    /// CQL `float`.
    Float(f32),
    /// CQL `double`.
    Double(f64),
    /// CQL `text` or `ascii`.
    Text(String),
    /// CQL `blob`.
    Blob(Vec<u8>),
    /// CQL `uuid`.
    Uuid(Uuid),
    /// CQL `timeuuid` (a version 1 UUID).
    #[cfg_attr(feature = "serde", serde(rename = "timeuuid"))]
    TimeUuid(Uuid),
    /// CQL `timestamp`, in milliseconds since the Unix epoch.
    Timestamp(i64),
    /// CQL `date`, in days since the Unix epoch.
    Date(i32),
    /// CQL `decimal`: `unscaled * 10^-scale`.
    Decimal {
        /// The unscaled value, big-endian two's complement.
        unscaled: Vec<u8>,
        /// Digits after the decimal point.
        scale: i32,
    },
    /// CQL `varint`, big-endian two's complement.
    Varint(Vec<u8>),
    /// CQL `inet`.
    Inet(IpAddr),
    /// An amount to add to a CQL `counter` column.
    CounterDelta(i64),
    /// CQL `list` of scalar elements.
    List(Vec<CqlValue>),
    /// CQL `set` of scalar members.
    Set(Vec<CqlValue>),
    /// CQL `map` with scalar keys and values.
    Map(Vec<(CqlValue, CqlValue)>),
}

impl CqlValue {
    /// Returns the value's type name as used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            CqlValue::Null => "null",
            CqlValue::Unset => "unset",
            CqlValue::Boolean(_) => "boolean",
            CqlValue::Int(_) => "int",
            CqlValue::BigInt(_) => "bigint",
            CqlValue::Float(_) => "float",
            CqlValue::Double(_) => "double",
            CqlValue::Text(_) => "text",
            CqlValue::Blob(_) => "blob",
            CqlValue::Uuid(_) => "uuid",
            CqlValue::TimeUuid(_) => "timeuuid",
            CqlValue::Timestamp(_) => "timestamp",
            CqlValue::Date(_) => "date",
            CqlValue::Decimal { .. } => "decimal",
            CqlValue::Varint(_) => "varint",
            CqlValue::Inet(_) => "inet",
            CqlValue::CounterDelta(_) => "counter delta",
            CqlValue::List(_) => "list",
            CqlValue::Set(_) => "set",
            CqlValue::Map(_) => "map",
        }
    }

    /// Returns whether the value may be a collection element: every type but
    /// null, unset, counter deltas and collections.
    pub fn is_scalar(&self) -> bool {
        !matches!(
            self,
            CqlValue::Null
                | CqlValue::Unset
                | CqlValue::CounterDelta(_)
                | CqlValue::List(_)
                | CqlValue::Set(_)
                | CqlValue::Map(_)
        )
    }
}

avro_enum! {
    /// CQL consistency levels of a write.
    Consistency {
        /// `ANY`
        Any = "ANY",
        /// `ONE`
        One = "ONE",
        /// `TWO`
        Two = "TWO",
        /// `THREE`
        Three = "THREE",
        /// `QUORUM`
        Quorum = "QUORUM",
        /// `ALL`
        All = "ALL",
        /// `LOCAL_QUORUM`
        LocalQuorum = "LOCAL_QUORUM",
        /// `EACH_QUORUM`
        EachQuorum = "EACH_QUORUM",
        /// `LOCAL_ONE`
        LocalOne = "LOCAL_ONE",
    }
}

avro_enum! {
    /// CQL serial consistency levels of conditional statements.
    SerialConsistency {
        /// `SERIAL`
        Serial = "SERIAL",
        /// `LOCAL_SERIAL`
        LocalSerial = "LOCAL_SERIAL",
    }
}
