use std::sync::Arc;

use apache_avro::types::Value;
use apache_avro::Schema;
use uuid::Uuid;

use super::*;
use crate::model::{Action, CassandraWrite, Consistency, CqlValue, FcmPush};
use crate::samples::{event_with_every_action, typical_event};
use crate::DISPATCH_EVENT_HISTORY;

mod compatibility;

#[test]
fn round_trip_keeps_every_field() {
    let codec = Codec::new();
    let event = event_with_every_action();

    let record = codec.encode(&event).unwrap();
    let decoded = codec.decode(&record).unwrap();

    assert_eq!(decoded, event);
}

/// The hand-written encoder must produce exactly apache-avro's bytes. FCM
/// data has at most one entry here because apache-avro writes maps in hash
/// order.
#[test]
fn binary_encoding_equals_apache_avro() {
    let codec = Codec::new();
    let mut event = event_with_every_action();
    for action in &mut event.actions {
        if let Action::FcmPush(push) = action {
            push.data.retain(|key, _| key == "kind");
        }
    }

    let record = codec.encode(&event).unwrap();
    let reference = crate::reference::encode_datum_via_value(codec.schema(), &event);

    assert_eq!(&record[SINGLE_OBJECT_HEADER_LEN..], reference.as_slice());
}

#[test]
fn encoding_starts_with_single_object_header() {
    let codec = Codec::new();
    let record = codec.encode(&typical_event()).unwrap();

    assert_eq!(&record[..2], &[0xC3, 0x01]);
    let expected = codec.schema().fingerprint::<Rabin>().bytes;
    assert_eq!(&record[2..10], expected.as_slice());
    assert_eq!(codec.wire_format(), WireFormat::SingleObject);
}

#[test]
fn confluent_encoding_starts_with_magic_and_schema_id() {
    let codec = Codec::new().with_wire_format(WireFormat::Confluent { schema_id: 300 });

    let record = codec.encode(&typical_event()).unwrap();

    assert_eq!(&record[..5], &[0, 0, 0, 1, 44]);
    assert_eq!(codec.wire_format(), WireFormat::Confluent { schema_id: 300 });
    assert_eq!(codec.decode(&record).unwrap(), typical_event());
}

#[test]
fn confluent_record_decodes_after_add_schema_id() {
    let writer = Codec::new().with_wire_format(WireFormat::Confluent { schema_id: 9 });
    let record = writer.encode(&typical_event()).unwrap();
    let reader = Codec::new();

    let before = reader.decode(&record).unwrap_err();
    reader.add_schema_id(9, Arc::new(reader.schema().clone()));
    let after = reader.decode(&record).unwrap();

    assert!(
        matches!(before, DecodeError::RegistryNotConfigured { schema_id: 9 }),
        "{before}"
    );
    assert_eq!(after, typical_event());
}

#[test]
fn collection_of_collections_is_an_encode_error() {
    let codec = Codec::new();
    let mut event = typical_event();
    event.actions = vec![Action::CassandraWrite(CassandraWrite::new(
        "nested",
        vec![CqlValue::List(vec![CqlValue::List(Vec::new())])],
    ))];

    let error = codec.encode(&event).unwrap_err();

    assert!(
        matches!(error, EncodeError::NotAnElement { value_type: "list", .. }),
        "{error}"
    );
}

#[test]
fn decode_rejects_unknown_fingerprint() {
    let codec = Codec::new();
    let mut record = codec.encode(&typical_event()).unwrap();
    record[2] ^= 0xFF;

    let error = codec.decode(&record).unwrap_err();

    assert!(matches!(error, DecodeError::UnknownFingerprint { .. }), "{error}");
}

#[test]
fn decode_rejects_random_bytes() {
    let codec = Codec::new();

    let error = codec.decode(b"not avro at all").unwrap_err();

    assert!(matches!(error, DecodeError::UnknownFormat { first: b'n' }), "{error}");
}

#[test]
fn decode_rejects_empty_and_truncated_records() {
    let codec = Codec::new();

    assert!(matches!(codec.decode(&[]), Err(DecodeError::Truncated { len: 0 })));
    assert!(matches!(
        codec.decode(&[0xC3, 0x01, 7]),
        Err(DecodeError::Truncated { len: 3 })
    ));
    assert!(matches!(
        codec.decode(&[0, 0, 1]),
        Err(DecodeError::Truncated { len: 3 })
    ));
}

#[test]
fn decode_reports_confluent_records_without_registry() {
    let codec = Codec::new();

    let error = codec.decode(&[0, 0, 0, 1, 44, 2, 3]).unwrap_err();

    assert!(
        matches!(error, DecodeError::RegistryNotConfigured { schema_id: 300 }),
        "{error}"
    );
    assert!(!error.is_retryable());
}

#[test]
fn decode_rejects_corrupt_datum() {
    let codec = Codec::new();
    let mut record = codec.encode(&typical_event()).unwrap();
    record.truncate(20);

    let error = codec.decode(&record).unwrap_err();

    assert!(
        matches!(error, DecodeError::Invalid { ref reason, .. } if reason.contains("ends inside")),
        "{error}"
    );
}

#[test]
fn decode_rejects_inet_of_wrong_length() {
    let codec = Codec::new();
    let mut event = typical_event();
    event.actions = vec![Action::CassandraWrite(CassandraWrite::new(
        "inet",
        vec![CqlValue::Inet("127.0.0.1".parse().unwrap())],
    ))];
    let mut record = codec.encode(&event).unwrap();
    // The address is the last value: length 4 (zig-zag 8), 4 bytes, then
    // the array end, the five null options and the actions' array end.
    let position = record.len() - 4 - 6 - 1;
    assert_eq!(record[position - 1], 8, "the inet address length");
    record[position - 1] = 6;
    record.remove(position);

    let error = codec.decode(&record).unwrap_err();

    assert!(
        matches!(
            error,
            DecodeError::Invalid {
                field: "values[].address",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn fcm_data_keeps_every_entry() {
    let codec = Codec::new();
    let mut event = typical_event();
    let push = FcmPush {
        condition: Some("'a' in topics".into()),
        data: (0..20).map(|i| (format!("key{i}"), format!("value{i}"))).collect(),
        ..FcmPush::default()
    };
    event.actions = vec![Action::from(push.clone())];

    let decoded = codec.decode(&codec.encode(&event).unwrap()).unwrap();

    assert_eq!(decoded.actions, vec![Action::from(push)]);
}

#[test]
fn feedback_round_trip_keeps_every_field() {
    let codec = crate::FeedbackCodec::new();
    let feedback = crate::PushFeedback {
        platform: crate::PushPlatform::Apns,
        token: "a1b2".into(),
        reason: crate::FeedbackReason::Unregistered,
        provider_reason: "Unregistered".into(),
        provider_timestamp_ms: Some(1_733_337_600_000),
        event_id: Uuid::from_u128(5),
        reported_at_us: 1_733_337_600_000_123,
    };

    let record = codec.encode(&feedback);

    assert_eq!(&record[..2], &[0xC3, 0x01]);
    assert_eq!(codec.decode(&record).unwrap(), feedback);
}

#[test]
fn consistency_symbols_keep_their_schema_positions() {
    let schema: serde_json::Value = serde_json::from_str(DISPATCH_EVENT_SCHEMA).unwrap();
    let symbols = compatibility::enum_symbols(&schema, "Consistency");

    let model: Vec<&str> = Consistency::SYMBOLS.iter().map(|level| level.symbol()).collect();

    assert_eq!(symbols, model);
    assert_eq!(Consistency::LocalQuorum.index(), 7);
}

/// Re-encodes a value of `schema` with apache-avro, so tests can write
/// records with other schema versions.
fn single_object(schema: &Schema, value: Value) -> Vec<u8> {
    let mut record = vec![0xC3, 0x01];
    record.extend_from_slice(&fingerprint(schema));
    record.extend(apache_avro::to_avro_datum(schema, value).unwrap());
    record
}

fn history_v1() -> Schema {
    Schema::parse_str(DISPATCH_EVENT_HISTORY[0]).unwrap()
}

fn history_v2() -> Schema {
    Schema::parse_str(DISPATCH_EVENT_HISTORY[1]).unwrap()
}
