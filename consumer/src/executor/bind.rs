//! Conversion of event values to the CQL types of a prepared statement's
//! bind markers.

use std::net::IpAddr;

use offload_schemas::CqlValue;
use scylla::frame::response::result::{CollectionType, ColumnType, NativeType};
use scylla::value::{
    Counter, CqlDate, CqlDecimal, CqlTimestamp, CqlTimeuuid, CqlValue as DriverValue, CqlVarint, MaybeUnset,
};

use self::type_name::cql_type_name;

/// A value ready to bind: unset, null, or a value of the column's type.
pub(super) type BoundValue = MaybeUnset<Option<DriverValue>>;

/// Why a value does not fit its column.
#[derive(Debug, PartialEq)]
pub(super) struct Mismatch {
    /// The value's type in the event.
    pub(super) value_type: &'static str,
    /// The column's CQL type.
    pub(super) column_type: String,
}

/// CQL `date` counts days from 2^31 days before the Unix epoch, so that the
/// epoch is 2^31 (CQL binary protocol v4, section 6.17).
const DATE_EPOCH_OFFSET: i64 = 1 << 31;

/// Converts `value` to the type of a column of type `column`.
pub(super) fn bind(value: &CqlValue, column: &ColumnType<'_>) -> Result<BoundValue, Mismatch> {
    match value {
        CqlValue::Unset => Ok(MaybeUnset::Unset),
        CqlValue::Null => Ok(MaybeUnset::Set(None)),
        _ => convert(value, column).map(|converted| MaybeUnset::Set(Some(converted))),
    }
}

/// Converts a non-null value, recursing into collection elements.
fn convert(value: &CqlValue, column: &ColumnType<'_>) -> Result<DriverValue, Mismatch> {
    let mismatch = || Mismatch {
        value_type: value.type_name(),
        column_type: cql_type_name(column),
    };

    match (value, column) {
        (
            CqlValue::List(elements),
            ColumnType::Collection {
                typ: CollectionType::List(element),
                ..
            },
        ) => Ok(DriverValue::List(convert_all(elements, element)?)),
        (
            CqlValue::Set(members),
            ColumnType::Collection {
                typ: CollectionType::Set(member),
                ..
            },
        ) => Ok(DriverValue::Set(convert_all(members, member)?)),
        (
            CqlValue::Map(entries),
            ColumnType::Collection {
                typ: CollectionType::Map(key_type, value_type),
                ..
            },
        ) => {
            let entries = entries
                .iter()
                .map(|(key, value)| Ok((convert(key, key_type)?, convert(value, value_type)?)))
                .collect::<Result<_, Mismatch>>()?;
            Ok(DriverValue::Map(entries))
        }
        (_, ColumnType::Native(native)) => convert_native(value, native).ok_or_else(mismatch),
        _ => Err(mismatch()),
    }
}

fn convert_all(elements: &[CqlValue], column: &ColumnType<'_>) -> Result<Vec<DriverValue>, Mismatch> {
    elements.iter().map(|element| convert(element, column)).collect()
}

/// Converts a scalar to a native column type, or returns `None` when it
/// does not fit (wrong type, out of range, unparsable text).
fn convert_native(value: &CqlValue, native: &NativeType) -> Option<DriverValue> {
    let converted = match (value, native) {
        (CqlValue::Boolean(b), NativeType::Boolean) => DriverValue::Boolean(*b),

        (CqlValue::Int(i), NativeType::Int) => DriverValue::Int(*i),
        (CqlValue::Int(i), NativeType::BigInt) => DriverValue::BigInt(i64::from(*i)),
        (CqlValue::Int(i), NativeType::Counter) => DriverValue::Counter(Counter(i64::from(*i))),
        (CqlValue::Int(i), NativeType::SmallInt) => DriverValue::SmallInt(i16::try_from(*i).ok()?),
        (CqlValue::Int(i), NativeType::TinyInt) => DriverValue::TinyInt(i8::try_from(*i).ok()?),

        (CqlValue::BigInt(i), NativeType::BigInt) => DriverValue::BigInt(*i),
        (CqlValue::BigInt(i), NativeType::Counter) => DriverValue::Counter(Counter(*i)),
        // CQL timestamps are milliseconds since the Unix epoch.
        (CqlValue::BigInt(i), NativeType::Timestamp) => DriverValue::Timestamp(CqlTimestamp(*i)),
        (CqlValue::BigInt(i), NativeType::Int) => DriverValue::Int(i32::try_from(*i).ok()?),

        (CqlValue::CounterDelta(delta), NativeType::Counter) => DriverValue::Counter(Counter(*delta)),

        (CqlValue::Float(f), NativeType::Float) => DriverValue::Float(*f),
        (CqlValue::Double(d), NativeType::Double) => DriverValue::Double(*d),

        (CqlValue::Text(s), NativeType::Text) => DriverValue::Text(s.clone()),
        (CqlValue::Text(s), NativeType::Ascii) if s.is_ascii() => DriverValue::Ascii(s.clone()),
        (CqlValue::Text(s), NativeType::Uuid) => DriverValue::Uuid(s.parse().ok()?),
        (CqlValue::Text(s), NativeType::Inet) => DriverValue::Inet(s.parse::<IpAddr>().ok()?),

        (CqlValue::Blob(b), NativeType::Blob) => DriverValue::Blob(b.clone()),

        (CqlValue::Uuid(id), NativeType::Uuid) => DriverValue::Uuid(*id),
        // Cassandra accepts only version 1 UUIDs in timeuuid columns.
        (CqlValue::Uuid(id) | CqlValue::TimeUuid(id), NativeType::Timeuuid) if id.get_version_num() == 1 => {
            DriverValue::Timeuuid(CqlTimeuuid::from(*id))
        }
        (CqlValue::TimeUuid(id), NativeType::Uuid) => DriverValue::Uuid(*id),

        (CqlValue::Timestamp(ms), NativeType::Timestamp) => DriverValue::Timestamp(CqlTimestamp(*ms)),
        (CqlValue::Date(days), NativeType::Date) => {
            DriverValue::Date(CqlDate(u32::try_from(i64::from(*days) + DATE_EPOCH_OFFSET).ok()?))
        }
        (CqlValue::Decimal { unscaled, scale }, NativeType::Decimal) => {
            DriverValue::Decimal(CqlDecimal::from_signed_be_bytes_slice_and_exponent(unscaled, *scale))
        }
        (CqlValue::Varint(bytes), NativeType::Varint) => {
            DriverValue::Varint(CqlVarint::from_signed_bytes_be_slice(bytes))
        }
        (CqlValue::Inet(address), NativeType::Inet) => DriverValue::Inet(*address),

        _ => return None,
    };
    Some(converted)
}

mod type_name;

#[cfg(test)]
mod tests;
