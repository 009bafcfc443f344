//! `CassandraWrite` and bound values as Avro values.

use std::net::IpAddr;

use apache_avro::types::Value;

use super::{array, enum_symbol, optional, string, symbol, unexpected, unwrap_optional, uuid, Fields};
use crate::codec::DecodeError;
use crate::model::{CassandraWrite, Consistency, CqlValue, SerialConsistency};

/// Branch indexes of the bound-value union.
pub(crate) mod value_branch {
    pub(crate) const NULL: u32 = 0;
    pub(crate) const COUNTER_DELTA: u32 = 15;
    pub(crate) const LIST: u32 = 16;
    pub(crate) const SET: u32 = 17;
    pub(crate) const MAP: u32 = 18;
    pub(crate) const UNSET: u32 = 19;
    /// Scalars sit one branch later in the value union than in the element
    /// union, which lacks `null`.
    pub(crate) const SCALAR_OFFSET: u32 = 1;
}

/// Branch indexes of the collection-element union.
pub(crate) mod element_branch {
    pub(crate) const BOOLEAN: u32 = 0;
    pub(crate) const INT: u32 = 1;
    pub(crate) const LONG: u32 = 2;
    pub(crate) const FLOAT: u32 = 3;
    pub(crate) const DOUBLE: u32 = 4;
    pub(crate) const STRING: u32 = 5;
    pub(crate) const BYTES: u32 = 6;
    pub(crate) const UUID: u32 = 7;
    pub(crate) const TIMEUUID: u32 = 8;
    pub(crate) const TIMESTAMP: u32 = 9;
    pub(crate) const DATE: u32 = 10;
    pub(crate) const DECIMAL: u32 = 11;
    pub(crate) const VARINT: u32 = 12;
    pub(crate) const INET: u32 = 13;
}

pub(super) fn write_to_value(write: &CassandraWrite) -> Value {
    let values = write.values.iter().map(cql_value_to_value).collect();
    let consistency = optional(write.consistency.map(|level| symbol(level.index(), level.symbol())));
    let serial = optional(
        write
            .serial_consistency
            .map(|level| symbol(level.index(), level.symbol())),
    );

    Value::Record(vec![
        ("statement".into(), Value::String(write.statement.clone())),
        ("values".into(), Value::Array(values)),
        ("consistency".into(), consistency),
        ("ttl_secs".into(), optional(write.ttl_secs.map(Value::Int))),
        ("timestamp_us".into(), optional(write.timestamp_us.map(Value::Long))),
        ("serial_consistency".into(), serial),
        ("cql".into(), optional(write.cql.clone().map(Value::String))),
    ])
}

fn cql_value_to_value(value: &CqlValue) -> Value {
    use value_branch::*;

    let (branch, inner) = match value {
        CqlValue::Null => (NULL, Value::Null),
        CqlValue::Unset => (UNSET, Value::Record(Vec::new())),
        CqlValue::CounterDelta(delta) => (COUNTER_DELTA, record("delta", Value::Long(*delta))),
        CqlValue::List(elements) => (LIST, record("elements", elements_to_value(elements))),
        CqlValue::Set(members) => (SET, record("members", elements_to_value(members))),
        CqlValue::Map(entries) => {
            let entries = entries
                .iter()
                .map(|(key, value)| {
                    Value::Record(vec![
                        ("key".into(), element_to_value(key)),
                        ("value".into(), element_to_value(value)),
                    ])
                })
                .collect();
            (MAP, record("entries", Value::Array(entries)))
        }
        scalar => match element_to_value(scalar) {
            Value::Union(branch, inner) => (branch + SCALAR_OFFSET, *inner),
            other => unreachable!("element_to_value returns a union, not {other:?}"),
        },
    };
    Value::Union(branch, Box::new(inner))
}

fn elements_to_value(elements: &[CqlValue]) -> Value {
    Value::Array(elements.iter().map(element_to_value).collect())
}

/// Converts a scalar to the element union. Non-scalars have no branch there;
/// the producer rejects them before encoding, and this panics on them.
fn element_to_value(value: &CqlValue) -> Value {
    use element_branch::*;

    let (branch, inner) = match value {
        CqlValue::Boolean(b) => (BOOLEAN, Value::Boolean(*b)),
        CqlValue::Int(i) => (INT, Value::Int(*i)),
        CqlValue::BigInt(i) => (LONG, Value::Long(*i)),
        CqlValue::Float(f) => (FLOAT, Value::Float(*f)),
        CqlValue::Double(d) => (DOUBLE, Value::Double(*d)),
        CqlValue::Text(s) => (STRING, Value::String(s.clone())),
        CqlValue::Blob(b) => (BYTES, Value::Bytes(b.clone())),
        CqlValue::Uuid(id) => (UUID, record("uuid", Value::Uuid(*id))),
        CqlValue::TimeUuid(id) => (TIMEUUID, record("timeuuid", Value::Uuid(*id))),
        CqlValue::Timestamp(ms) => (TIMESTAMP, record("millis", Value::TimestampMillis(*ms))),
        CqlValue::Date(days) => (DATE, record("days", Value::Date(*days))),
        CqlValue::Decimal { unscaled, scale } => (
            DECIMAL,
            Value::Record(vec![
                ("unscaled".into(), Value::Bytes(unscaled.clone())),
                ("scale".into(), Value::Int(*scale)),
            ]),
        ),
        CqlValue::Varint(bytes) => (VARINT, record("varint", Value::Bytes(bytes.clone()))),
        CqlValue::Inet(address) => (INET, record("address", Value::Bytes(inet_bytes(address)))),
        other => panic!(
            "{} is not a collection element; validate the event first",
            other.type_name()
        ),
    };
    Value::Union(branch, Box::new(inner))
}

pub(crate) fn inet_bytes(address: &IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn record(field: &str, value: Value) -> Value {
    Value::Record(vec![(field.into(), value)])
}

pub(super) fn write_from_value(value: Value) -> Result<CassandraWrite, DecodeError> {
    let mut fields = Fields::of_record(value, "CassandraWrite")?;

    let statement = string(fields.take("statement")?, "statement")?;
    let values = array(fields.take("values")?, "values", cql_value_from_value)?;
    let consistency = unwrap_optional(fields.take("consistency")?)
        .map(|value| enum_symbol(value, "consistency", Consistency::from_symbol, Consistency::Unknown))
        .transpose()?;
    let ttl_secs = match unwrap_optional(fields.take("ttl_secs")?) {
        None => None,
        Some(Value::Int(ttl)) => Some(ttl),
        Some(other) => return Err(unexpected("ttl_secs", &other)),
    };
    let timestamp_us = match unwrap_optional(fields.take("timestamp_us")?) {
        None => None,
        Some(Value::Long(us)) => Some(us),
        Some(other) => return Err(unexpected("timestamp_us", &other)),
    };
    let serial_consistency = unwrap_optional(fields.take("serial_consistency")?)
        .map(|value| {
            enum_symbol(
                value,
                "serial_consistency",
                SerialConsistency::from_symbol,
                SerialConsistency::Unknown,
            )
        })
        .transpose()?;
    let cql = match unwrap_optional(fields.take("cql")?) {
        None => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => return Err(unexpected("cql", &other)),
    };

    Ok(CassandraWrite {
        statement,
        values,
        consistency,
        ttl_secs,
        timestamp_us,
        serial_consistency,
        cql,
    })
}

fn cql_value_from_value(value: Value) -> Result<CqlValue, DecodeError> {
    use value_branch::*;

    let Value::Union(branch, inner) = value else {
        return Err(unexpected("values[]", &value));
    };
    match branch {
        NULL => Ok(CqlValue::Null),
        UNSET => Ok(CqlValue::Unset),
        COUNTER_DELTA => match single_field(*inner, "CounterDelta", "delta")? {
            Value::Long(delta) => Ok(CqlValue::CounterDelta(delta)),
            other => Err(unexpected("values[].delta", &other)),
        },
        LIST => Ok(CqlValue::List(array(
            single_field(*inner, "List", "elements")?,
            "values[].elements",
            element_from_value,
        )?)),
        SET => Ok(CqlValue::Set(array(
            single_field(*inner, "Set", "members")?,
            "values[].members",
            element_from_value,
        )?)),
        MAP => Ok(CqlValue::Map(array(
            single_field(*inner, "Map", "entries")?,
            "values[].entries",
            map_entry_from_value,
        )?)),
        scalar => element_from_value(Value::Union(scalar - SCALAR_OFFSET, inner)),
    }
}

fn map_entry_from_value(value: Value) -> Result<(CqlValue, CqlValue), DecodeError> {
    let mut fields = Fields::of_record(value, "MapEntry")?;
    let key = element_from_value(fields.take("key")?)?;
    let value = element_from_value(fields.take("value")?)?;
    Ok((key, value))
}

fn element_from_value(value: Value) -> Result<CqlValue, DecodeError> {
    use element_branch::*;

    let Value::Union(branch, inner) = value else {
        return Err(unexpected("values[]", &value));
    };
    let value = match (branch, *inner) {
        (BOOLEAN, Value::Boolean(b)) => CqlValue::Boolean(b),
        (INT, Value::Int(i)) => CqlValue::Int(i),
        (LONG, Value::Long(i)) => CqlValue::BigInt(i),
        (FLOAT, Value::Float(f)) => CqlValue::Float(f),
        (DOUBLE, Value::Double(d)) => CqlValue::Double(d),
        (STRING, Value::String(s)) => CqlValue::Text(s),
        (BYTES, Value::Bytes(b)) => CqlValue::Blob(b),
        (UUID, inner) => CqlValue::Uuid(uuid(single_field(inner, "Uuid", "uuid")?, "values[].uuid")?),
        (TIMEUUID, inner) => {
            CqlValue::TimeUuid(uuid(single_field(inner, "TimeUuid", "timeuuid")?, "values[].timeuuid")?)
        }
        (TIMESTAMP, inner) => match single_field(inner, "Timestamp", "millis")? {
            Value::TimestampMillis(ms) | Value::Long(ms) => CqlValue::Timestamp(ms),
            other => return Err(unexpected("values[].millis", &other)),
        },
        (DATE, inner) => match single_field(inner, "Date", "days")? {
            Value::Date(days) | Value::Int(days) => CqlValue::Date(days),
            other => return Err(unexpected("values[].days", &other)),
        },
        (DECIMAL, inner) => {
            let mut fields = Fields::of_record(inner, "Decimal")?;
            match (fields.take("unscaled")?, fields.take("scale")?) {
                (Value::Bytes(unscaled), Value::Int(scale)) => CqlValue::Decimal { unscaled, scale },
                (other, _) => return Err(unexpected("values[].unscaled", &other)),
            }
        }
        (VARINT, inner) => match single_field(inner, "Varint", "varint")? {
            Value::Bytes(bytes) => CqlValue::Varint(bytes),
            other => return Err(unexpected("values[].varint", &other)),
        },
        (INET, inner) => match single_field(inner, "Inet", "address")? {
            Value::Bytes(bytes) => CqlValue::Inet(inet_from_bytes(&bytes)?),
            other => return Err(unexpected("values[].address", &other)),
        },
        (_, other) => return Err(unexpected("values[]", &other)),
    };
    Ok(value)
}

pub(crate) fn inet_from_bytes(bytes: &[u8]) -> Result<IpAddr, DecodeError> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Ok(IpAddr::from(v4));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return Ok(IpAddr::from(v6));
    }
    Err(DecodeError::Invalid {
        field: "values[].address",
        reason: format!("an inet address has 4 or 16 bytes, not {}", bytes.len()),
    })
}

fn single_field(value: Value, record: &'static str, field: &'static str) -> Result<Value, DecodeError> {
    Fields::of_record(value, record)?.take(field)
}
