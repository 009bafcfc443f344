//! Schema evolution both ways with apache-avro's schema resolution: the
//! current schema reads records of the shipped v1 and v2 schemas and of a
//! newer schema, and those schemas read records of the current one.

use serde_json::{json, Value as Json};

use super::*;
use crate::model::{
    AndroidPriority, ApnsInterruptionLevel, ApnsPriority, ApnsPushType, Consistency, SerialConsistency,
};

/// Symbol that the newer schema adds to every enum.
const ADDED_SYMBOL: &str = "ADDED_IN_NEXT";

pub(super) fn enum_symbols(schema: &Json, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    visit(schema, &mut |node| {
        if node["type"] == "enum" && node["name"] == name {
            found = node["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .map(|symbol| symbol.as_str().unwrap().to_string())
                .collect();
        }
    });
    found
}

fn visit(node: &Json, f: &mut impl FnMut(&Json)) {
    f(node);
    match node {
        Json::Object(map) => map.values().for_each(|child| visit(child, f)),
        Json::Array(items) => items.iter().for_each(|child| visit(child, f)),
        _ => {}
    }
}

fn visit_mut(node: &mut Json, f: &mut impl FnMut(&mut Json)) {
    f(node);
    match node {
        Json::Object(map) => map.values_mut().for_each(|child| visit_mut(child, f)),
        Json::Array(items) => items.iter_mut().for_each(|child| visit_mut(child, f)),
        _ => {}
    }
}

/// Builds the next schema version as a producer might ship it. Every enum
/// gets one more symbol. The event and a nested record get new fields with
/// defaults of every logical type the schema uses (uuid, timestamp-micros,
/// timestamp-millis, date) and of an enum.
fn next_schema() -> Schema {
    let mut json: Json = serde_json::from_str(DISPATCH_EVENT_SCHEMA).unwrap();
    visit_mut(&mut json, &mut |node| {
        if node["type"] == "enum" {
            node["symbols"].as_array_mut().unwrap().push(ADDED_SYMBOL.into());
        }
        if node["type"] == "record" && node["name"] == "CassandraWrite" {
            node["fields"].as_array_mut().unwrap().push(json!({
                "name": "retry_deadline_ms",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "default": 0,
                "doc": "Added in the next version."
            }));
        }
    });
    json["fields"].as_array_mut().unwrap().extend([
        json!({"name": "trace_id", "type": {"type": "string", "logicalType": "uuid"},
               "default": "00000000-0000-0000-0000-000000000000", "doc": "Added."}),
        json!({"name": "expires_at_us", "type": {"type": "long", "logicalType": "timestamp-micros"},
               "default": 0, "doc": "Added."}),
        json!({"name": "not_before_ms", "type": {"type": "long", "logicalType": "timestamp-millis"},
               "default": 0, "doc": "Added."}),
        json!({"name": "business_date", "type": {"type": "int", "logicalType": "date"},
               "default": 0, "doc": "Added."}),
        json!({"name": "urgency", "doc": "Added.", "default": "LOW",
               "type": {"type": "enum", "name": "Urgency", "symbols": ["UNKNOWN", "LOW", "HIGH"], "default": "UNKNOWN"}}),
    ]);
    Schema::parse_str(&json.to_string()).unwrap()
}

/// Replaces every enum symbol in `value` by [`ADDED_SYMBOL`], written as a
/// string so that apache-avro looks its index up in the writer schema.
fn use_added_symbols(value: &mut Value) {
    match value {
        Value::Enum(_, _) => *value = Value::String(ADDED_SYMBOL.into()),
        Value::Record(fields) => fields.iter_mut().for_each(|(_, field)| use_added_symbols(field)),
        Value::Array(items) => items.iter_mut().for_each(use_added_symbols),
        Value::Map(entries) => entries.values_mut().for_each(use_added_symbols),
        Value::Union(_, inner) => use_added_symbols(inner),
        _ => {}
    }
}

/// An event in the v1 schema: a Cassandra write with every v1 value type.
fn v1_value() -> Value {
    let values = vec![
        Value::Union(0, Box::new(Value::Null)),
        Value::Union(1, Box::new(Value::Record(Vec::new()))),
        Value::Union(2, Box::new(Value::Boolean(true))),
        Value::Union(3, Box::new(Value::Int(-7))),
        Value::Union(4, Box::new(Value::Long(1 << 40))),
        Value::Union(5, Box::new(Value::Double(0.5))),
        Value::Union(6, Box::new(Value::String("text".into()))),
        Value::Union(7, Box::new(Value::Bytes(vec![1, 2]))),
    ];
    let write = Value::Record(vec![
        ("statement".into(), Value::String("bump".into())),
        ("values".into(), Value::Array(values)),
        (
            "consistency".into(),
            Value::Union(1, Box::new(Value::Enum(7, "LOCAL_QUORUM".into()))),
        ),
        ("ttl_secs".into(), Value::Union(1, Box::new(Value::Int(60)))),
        ("timestamp_us".into(), Value::Union(0, Box::new(Value::Null))),
    ]);
    Value::Record(vec![
        ("event_id".into(), Value::Uuid(Uuid::from_u128(77))),
        ("entity_key".into(), Value::String("user-1".into())),
        ("created_at_us".into(), Value::TimestampMicros(1_700_000_000_000_000)),
        ("source_service".into(), Value::String("v1-service".into())),
        ("actions".into(), Value::Array(vec![Value::Union(0, Box::new(write))])),
    ])
}

/// The model of [`v1_value`].
fn v1_event() -> DispatchEvent {
    DispatchEvent {
        event_id: Uuid::from_u128(77),
        entity_key: "user-1".into(),
        created_at_us: 1_700_000_000_000_000,
        source_service: "v1-service".into(),
        actions: vec![Action::CassandraWrite(CassandraWrite {
            statement: "bump".into(),
            values: vec![
                CqlValue::Null,
                CqlValue::Unset,
                CqlValue::Boolean(true),
                CqlValue::Int(-7),
                CqlValue::BigInt(1 << 40),
                CqlValue::Double(0.5),
                CqlValue::Text("text".into()),
                CqlValue::Blob(vec![1, 2]),
            ],
            consistency: Some(Consistency::LocalQuorum),
            ttl_secs: Some(60),
            timestamp_us: None,
            serial_consistency: None,
            cql: None,
        })],
    }
}

#[test]
fn current_reads_v1_records() {
    let record = single_object(&history_v1(), v1_value());

    let decoded = Codec::new().decode(&record).unwrap();

    assert_eq!(decoded, v1_event());
}

#[test]
fn v1_reads_current_records() {
    let codec = Codec::new();
    let mut event = v1_event();
    let Action::CassandraWrite(write) = &mut event.actions[0] else {
        unreachable!()
    };
    write.serial_consistency = Some(SerialConsistency::Serial);
    let record = codec.encode(&event).unwrap();

    let mut datum = &record[SINGLE_OBJECT_HEADER_LEN..];
    let read = apache_avro::from_avro_datum(codec.schema(), &mut datum, Some(&history_v1())).unwrap();

    assert_eq!(read, v1_value());
}

/// Removes the `cql` field, which v2 lacks, from every Cassandra write of `value`.
fn without_cql(mut value: Value) -> Value {
    let Value::Record(fields) = &mut value else {
        unreachable!()
    };
    let (_, Value::Array(actions)) = fields.iter_mut().find(|(name, _)| name == "actions").unwrap() else {
        unreachable!()
    };
    for action in actions {
        if let Value::Union(0, write) = action {
            let Value::Record(write_fields) = write.as_mut() else {
                unreachable!()
            };
            write_fields.retain(|(name, _)| name != "cql");
        }
    }
    value
}

/// [`event_with_every_action`] without its raw DML write, which v2 cannot carry.
fn every_action_without_raw_dml() -> DispatchEvent {
    let mut event = event_with_every_action();
    event
        .actions
        .retain(|action| !matches!(action, Action::CassandraWrite(write) if write.cql.is_some()));
    event
}

#[test]
fn current_reads_v2_records() {
    let event = every_action_without_raw_dml();
    let record = single_object(&history_v2(), without_cql(crate::reference::event_to_value(&event)));

    let decoded = Codec::new().decode(&record).unwrap();

    assert_eq!(decoded, event);
}

#[test]
fn v2_reads_current_records_without_raw_cql() {
    let codec = Codec::new();
    let event = event_with_every_action();
    let record = codec.encode(&event).unwrap();

    let mut datum = &record[SINGLE_OBJECT_HEADER_LEN..];
    let read = apache_avro::from_avro_datum(codec.schema(), &mut datum, Some(&history_v2())).unwrap();

    assert_eq!(read, without_cql(crate::reference::event_to_value(&event)));
}

#[test]
fn current_reads_next_records() {
    let next = next_schema();
    let mut value = crate::reference::event_to_value(&event_with_every_action());
    use_added_symbols(&mut value);
    let Value::Record(fields) = &mut value else {
        unreachable!()
    };
    fields.push(("trace_id".into(), Value::Uuid(Uuid::from_u128(9))));
    fields.push(("expires_at_us".into(), Value::TimestampMicros(5)));
    fields.push(("not_before_ms".into(), Value::TimestampMillis(6)));
    fields.push(("business_date".into(), Value::Date(7)));
    fields.push(("urgency".into(), Value::String("HIGH".into())));
    let record = single_object(&next, add_retry_deadlines(value));
    let reader = Codec::with_schemas(Codec::new().schema().clone(), vec![next]);

    let decoded = reader.decode(&record).unwrap();

    assert_eq!(decoded, every_enum_unknown(event_with_every_action()));
}

#[test]
fn next_reads_current_records_with_defaults() {
    let codec = Codec::new();
    let record = codec.encode(&event_with_every_action()).unwrap();

    let mut datum = &record[SINGLE_OBJECT_HEADER_LEN..];
    let read = apache_avro::from_avro_datum(codec.schema(), &mut datum, Some(&next_schema())).unwrap();

    let Value::Record(fields) = read else { unreachable!() };
    let field = |name: &str| fields.iter().find(|(field, _)| field == name).unwrap().1.clone();
    assert_eq!(field("entity_key"), Value::String("user-42".into()));
    assert_eq!(field("trace_id"), Value::Uuid(Uuid::nil()));
    assert_eq!(field("expires_at_us"), Value::TimestampMicros(0));
    assert_eq!(field("not_before_ms"), Value::TimestampMillis(0));
    assert_eq!(field("business_date"), Value::Date(0));
    assert_eq!(field("urgency"), Value::Enum(1, "LOW".into()));
    let Value::Array(actions) = field("actions") else {
        unreachable!()
    };
    let Value::Union(0, write) = &actions[0] else {
        unreachable!()
    };
    let Value::Record(write_fields) = write.as_ref() else {
        unreachable!()
    };
    let deadline = write_fields.iter().find(|(name, _)| name == "retry_deadline_ms");
    assert_eq!(deadline.map(|(_, value)| value), Some(&Value::TimestampMillis(0)));
}

/// Adds the next version's `retry_deadline_ms` to every Cassandra write.
fn add_retry_deadlines(mut value: Value) -> Value {
    let Value::Record(fields) = &mut value else {
        unreachable!()
    };
    let (_, Value::Array(actions)) = fields.iter_mut().find(|(name, _)| name == "actions").unwrap() else {
        unreachable!()
    };
    for action in actions {
        if let Value::Union(0, write) = action {
            let Value::Record(write_fields) = write.as_mut() else {
                unreachable!()
            };
            write_fields.push(("retry_deadline_ms".into(), Value::TimestampMillis(1)));
        }
    }
    value
}

/// Sets every enum of `event` that has a value to its `Unknown` variant.
fn every_enum_unknown(mut event: DispatchEvent) -> DispatchEvent {
    for action in &mut event.actions {
        match action {
            Action::CassandraWrite(write) => {
                write.consistency = write.consistency.map(|_| Consistency::Unknown);
                write.serial_consistency = write.serial_consistency.map(|_| SerialConsistency::Unknown);
            }
            Action::ApnsPush(push) => {
                push.push_type = ApnsPushType::Unknown;
                push.priority = push.priority.map(|_| ApnsPriority::Unknown);
                push.interruption_level = push.interruption_level.map(|_| ApnsInterruptionLevel::Unknown);
            }
            Action::FcmPush(push) => {
                if let Some(android) = &mut push.android {
                    android.priority = android.priority.map(|_| AndroidPriority::Unknown);
                }
            }
        }
    }
    event
}
