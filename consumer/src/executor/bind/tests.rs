use uuid::Uuid;

use super::*;

fn native(native: NativeType) -> ColumnType<'static> {
    ColumnType::Native(native)
}

fn list_of(element: NativeType) -> ColumnType<'static> {
    ColumnType::Collection {
        frozen: false,
        typ: CollectionType::List(Box::new(native(element))),
    }
}

fn set_of(member: NativeType) -> ColumnType<'static> {
    ColumnType::Collection {
        frozen: false,
        typ: CollectionType::Set(Box::new(native(member))),
    }
}

fn map_of(key: NativeType, value: NativeType) -> ColumnType<'static> {
    ColumnType::Collection {
        frozen: false,
        typ: CollectionType::Map(Box::new(native(key)), Box::new(native(value))),
    }
}

fn bound(value: CqlValue, column: &ColumnType<'_>) -> DriverValue {
    match bind(&value, column) {
        Ok(MaybeUnset::Set(Some(converted))) => converted,
        other => panic!("expected a value, found {other:?}"),
    }
}

const TIMEUUID: &str = "c3b8e1a0-9a7b-11ef-8a2b-0242ac120002";
const UUID_V4: &str = "7f1c3f5e-59b5-4c59-9d8e-0d5a4f0c1b2a";

#[test]
fn bigint_binds_to_counter_delta() {
    let converted = bound(CqlValue::BigInt(-4), &native(NativeType::Counter));

    assert_eq!(converted, DriverValue::Counter(Counter(-4)));
}

#[test]
fn counter_delta_binds_only_to_counter() {
    let converted = bound(CqlValue::CounterDelta(7), &native(NativeType::Counter));
    let error = bind(&CqlValue::CounterDelta(7), &native(NativeType::BigInt)).unwrap_err();

    assert_eq!(converted, DriverValue::Counter(Counter(7)));
    assert_eq!(error.value_type, "counter delta");
    assert_eq!(error.column_type, "bigint");
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
    assert_eq!(error.column_type, "int");
}

#[test]
fn out_of_range_narrowing_is_a_mismatch() {
    let error = bind(&CqlValue::Int(40_000), &native(NativeType::SmallInt)).unwrap_err();

    assert_eq!(error.value_type, "int");
}

#[test]
fn text_parses_into_uuid_column() {
    let converted = bound(CqlValue::Text(UUID_V4.into()), &native(NativeType::Uuid));

    assert_eq!(converted, DriverValue::Uuid(UUID_V4.parse().unwrap()));
}

#[test]
fn uuid_and_timeuuid_bind_to_their_columns() {
    let v4: Uuid = UUID_V4.parse().unwrap();
    let v1: Uuid = TIMEUUID.parse().unwrap();

    assert_eq!(
        bound(CqlValue::Uuid(v4), &native(NativeType::Uuid)),
        DriverValue::Uuid(v4)
    );
    assert_eq!(
        bound(CqlValue::TimeUuid(v1), &native(NativeType::Timeuuid)),
        DriverValue::Timeuuid(CqlTimeuuid::from(v1))
    );
    assert_eq!(
        bound(CqlValue::TimeUuid(v1), &native(NativeType::Uuid)),
        DriverValue::Uuid(v1)
    );
}

#[test]
fn version_4_uuid_into_timeuuid_column_is_a_mismatch() {
    let v4: Uuid = UUID_V4.parse().unwrap();

    let error = bind(&CqlValue::TimeUuid(v4), &native(NativeType::Timeuuid)).unwrap_err();

    assert_eq!(error.value_type, "timeuuid");
    assert_eq!(error.column_type, "timeuuid");
}

#[test]
fn timestamp_binds_milliseconds() {
    let converted = bound(CqlValue::Timestamp(1_733_337_600_123), &native(NativeType::Timestamp));

    assert_eq!(converted, DriverValue::Timestamp(CqlTimestamp(1_733_337_600_123)));
}

#[test]
fn date_counts_from_two_to_the_31() {
    let epoch = bound(CqlValue::Date(0), &native(NativeType::Date));
    let before = bound(CqlValue::Date(-3), &native(NativeType::Date));

    assert_eq!(epoch, DriverValue::Date(CqlDate(1 << 31)));
    assert_eq!(before, DriverValue::Date(CqlDate((1 << 31) - 3)));
}

#[test]
fn decimal_keeps_digits_and_scale() {
    let value = CqlValue::Decimal {
        unscaled: vec![0x30, 0x39],
        scale: 2,
    };

    let converted = bound(value, &native(NativeType::Decimal));

    assert_eq!(
        converted,
        DriverValue::Decimal(CqlDecimal::from_signed_be_bytes_and_exponent(vec![0x30, 0x39], 2))
    );
}

#[test]
fn varint_keeps_twos_complement_bytes() {
    let converted = bound(CqlValue::Varint(vec![0xFF, 0x7F]), &native(NativeType::Varint));

    assert_eq!(
        converted,
        DriverValue::Varint(CqlVarint::from_signed_bytes_be(vec![0xFF, 0x7F]))
    );
}

#[test]
fn inet_binds_v4_and_v6() {
    let v4: IpAddr = "127.0.0.1".parse().unwrap();
    let v6: IpAddr = "::1".parse().unwrap();

    assert_eq!(
        bound(CqlValue::Inet(v4), &native(NativeType::Inet)),
        DriverValue::Inet(v4)
    );
    assert_eq!(
        bound(CqlValue::Inet(v6), &native(NativeType::Inet)),
        DriverValue::Inet(v6)
    );
}

#[test]
fn float_and_double_do_not_mix() {
    assert_eq!(
        bound(CqlValue::Float(1.5), &native(NativeType::Float)),
        DriverValue::Float(1.5)
    );

    let error = bind(&CqlValue::Double(1.5), &native(NativeType::Float)).unwrap_err();

    assert_eq!(error.value_type, "double");
}

#[test]
fn list_converts_each_element_by_element_type() {
    let value = CqlValue::List(vec![CqlValue::Int(1), CqlValue::Int(2)]);

    let converted = bound(value, &list_of(NativeType::BigInt));

    assert_eq!(
        converted,
        DriverValue::List(vec![DriverValue::BigInt(1), DriverValue::BigInt(2)])
    );
}

#[test]
fn set_and_map_convert_members_keys_and_values() {
    let v1: Uuid = TIMEUUID.parse().unwrap();
    let set = CqlValue::Set(vec![CqlValue::Text("a".into()), CqlValue::Text("b".into())]);
    let map = CqlValue::Map(vec![(CqlValue::TimeUuid(v1), CqlValue::Timestamp(5))]);

    let set = bound(set, &set_of(NativeType::Text));
    let map = bound(map, &map_of(NativeType::Timeuuid, NativeType::Timestamp));

    assert_eq!(
        set,
        DriverValue::Set(vec![DriverValue::Text("a".into()), DriverValue::Text("b".into())])
    );
    assert_eq!(
        map,
        DriverValue::Map(vec![(
            DriverValue::Timeuuid(CqlTimeuuid::from(v1)),
            DriverValue::Timestamp(CqlTimestamp(5))
        )])
    );
}

#[test]
fn collection_element_of_wrong_type_is_a_mismatch() {
    let value = CqlValue::List(vec![CqlValue::Int(1), CqlValue::Text("two".into())]);

    let error = bind(&value, &list_of(NativeType::Int)).unwrap_err();

    assert_eq!(error.value_type, "text");
    assert_eq!(error.column_type, "int");
}

#[test]
fn list_into_set_column_is_a_mismatch() {
    let error = bind(&CqlValue::List(Vec::new()), &set_of(NativeType::Text)).unwrap_err();

    assert_eq!(error.value_type, "list");
}

#[test]
fn scalar_into_collection_column_is_a_mismatch() {
    let error = bind(&CqlValue::Text("a".into()), &list_of(NativeType::Text)).unwrap_err();

    assert_eq!(error.value_type, "text");
    assert_eq!(error.column_type, "list<text>");
}
