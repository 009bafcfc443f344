//! Conversion of event values to the CQL types of a prepared statement's
//! bind markers.

use std::net::IpAddr;

use offload_schemas::CqlValue;
use scylla::frame::response::result::{ColumnType, NativeType};
use scylla::value::{Counter, CqlTimestamp, CqlValue as DriverValue, MaybeUnset};

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

/// Converts `value` to the type of a column of type `column`.
pub(super) fn bind(value: &CqlValue, column: &ColumnType<'_>) -> Result<BoundValue, Mismatch> {
    let mismatch = || Mismatch {
        value_type: type_name(value),
        column_type: format!("{column:?}"),
    };

    let native = match (value, column) {
        (CqlValue::Unset, _) => return Ok(MaybeUnset::Unset),
        (CqlValue::Null, _) => return Ok(MaybeUnset::Set(None)),
        (_, ColumnType::Native(native)) => native,
        _ => return Err(mismatch()),
    };

    let converted = match (value, native) {
        (CqlValue::Boolean(b), NativeType::Boolean) => DriverValue::Boolean(*b),

        (CqlValue::Int(i), NativeType::Int) => DriverValue::Int(*i),
        (CqlValue::Int(i), NativeType::BigInt) => DriverValue::BigInt(i64::from(*i)),
        (CqlValue::Int(i), NativeType::Counter) => DriverValue::Counter(Counter(i64::from(*i))),
        (CqlValue::Int(i), NativeType::SmallInt) => DriverValue::SmallInt(i16::try_from(*i).map_err(|_| mismatch())?),
        (CqlValue::Int(i), NativeType::TinyInt) => DriverValue::TinyInt(i8::try_from(*i).map_err(|_| mismatch())?),

        (CqlValue::BigInt(i), NativeType::BigInt) => DriverValue::BigInt(*i),
        (CqlValue::BigInt(i), NativeType::Counter) => DriverValue::Counter(Counter(*i)),
        // CQL timestamps are milliseconds since the Unix epoch.
        (CqlValue::BigInt(i), NativeType::Timestamp) => DriverValue::Timestamp(CqlTimestamp(*i)),
        (CqlValue::BigInt(i), NativeType::Int) => DriverValue::Int(i32::try_from(*i).map_err(|_| mismatch())?),

        (CqlValue::Double(d), NativeType::Double) => DriverValue::Double(*d),

        (CqlValue::Text(s), NativeType::Text) => DriverValue::Text(s.clone()),
        (CqlValue::Text(s), NativeType::Ascii) if s.is_ascii() => DriverValue::Ascii(s.clone()),
        (CqlValue::Text(s), NativeType::Uuid) => DriverValue::Uuid(s.parse().map_err(|_| mismatch())?),
        (CqlValue::Text(s), NativeType::Inet) => DriverValue::Inet(s.parse::<IpAddr>().map_err(|_| mismatch())?),

        (CqlValue::Blob(b), NativeType::Blob) => DriverValue::Blob(b.clone()),

        _ => return Err(mismatch()),
    };
    Ok(MaybeUnset::Set(Some(converted)))
}

fn type_name(value: &CqlValue) -> &'static str {
    match value {
        CqlValue::Null => "null",
        CqlValue::Unset => "unset",
        CqlValue::Boolean(_) => "boolean",
        CqlValue::Int(_) => "int",
        CqlValue::BigInt(_) => "bigint",
        CqlValue::Double(_) => "double",
        CqlValue::Text(_) => "text",
        CqlValue::Blob(_) => "blob",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(native: NativeType) -> ColumnType<'static> {
        ColumnType::Native(native)
    }

    #[test]
    fn bigint_binds_to_counter_delta() {
        let bound = bind(&CqlValue::BigInt(-4), &native(NativeType::Counter)).unwrap();

        assert!(
            matches!(bound, MaybeUnset::Set(Some(DriverValue::Counter(Counter(-4))))),
            "{bound:?}"
        );
    }

    #[test]
    fn unset_and_null_stay_distinct() {
        let unset = bind(&CqlValue::Unset, &native(NativeType::Text)).unwrap();
        let null = bind(&CqlValue::Null, &native(NativeType::Text)).unwrap();

        assert!(matches!(unset, MaybeUnset::Unset), "{unset:?}");
        assert!(matches!(null, MaybeUnset::Set(None)), "{null:?}");
    }

    #[test]
    fn text_into_int_column_is_a_mismatch() {
        let error = bind(&CqlValue::Text("7".into()), &native(NativeType::Int)).unwrap_err();

        assert_eq!(error.value_type, "text");
        assert_eq!(error.column_type, "Native(Int)");
    }

    #[test]
    fn out_of_range_narrowing_is_a_mismatch() {
        let error = bind(&CqlValue::Int(40_000), &native(NativeType::SmallInt)).unwrap_err();

        assert_eq!(error.value_type, "int");
    }

    #[test]
    fn text_parses_into_uuid_column() {
        let id = "7f1c3f5e-59b5-4c59-9d8e-0d5a4f0c1b2a";
        let bound = bind(&CqlValue::Text(id.into()), &native(NativeType::Uuid)).unwrap();

        let MaybeUnset::Set(Some(DriverValue::Uuid(bound_id))) = bound else {
            panic!("expected a uuid, found {bound:?}");
        };
        assert_eq!(bound_id.to_string(), id);
    }
}
