use apache_avro::Schema;
use uuid::Uuid;

use super::*;
use crate::model::{Action, CassandraWrite, Consistency, CqlValue};

fn sample_event() -> DispatchEvent {
    DispatchEvent {
        event_id: Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        entity_key: "user-42".into(),
        created_at_us: 1_733_337_600_000_000,
        source_service: "photos-api".into(),
        actions: vec![Action::CassandraWrite(CassandraWrite {
            statement: "bump_likes".into(),
            values: vec![
                CqlValue::Null,
                CqlValue::Unset,
                CqlValue::Boolean(true),
                CqlValue::Int(-7),
                CqlValue::BigInt(i64::MAX),
                CqlValue::Double(0.25),
                CqlValue::Text("héllo".into()),
                CqlValue::Blob(vec![0, 1, 255]),
            ],
            consistency: Some(Consistency::LocalQuorum),
            ttl_secs: Some(3600),
            timestamp_us: None,
        })],
    }
}

#[test]
fn round_trip_keeps_every_field() {
    let codec = Codec::new();
    let event = sample_event();

    let record = codec.encode(&event).unwrap();
    let decoded = codec.decode(&record).unwrap();

    assert_eq!(decoded, event);
}

#[test]
fn encoding_starts_with_single_object_header() {
    let codec = Codec::new();
    let record = codec.encode(&sample_event()).unwrap();

    assert_eq!(&record[..2], &[0xC3, 0x01]);
    let expected = codec.schema().fingerprint::<Rabin>().bytes;
    assert_eq!(&record[2..10], expected.as_slice());
}

#[test]
fn decode_rejects_unknown_fingerprint() {
    let codec = Codec::new();
    let mut record = codec.encode(&sample_event()).unwrap();
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
}

#[test]
fn decode_reports_confluent_records_without_registry() {
    let codec = Codec::new();

    let error = codec.decode(&[0, 0, 0, 1, 44, 2, 3]).unwrap_err();

    assert!(
        matches!(error, DecodeError::RegistryNotConfigured { schema_id: 300 }),
        "{error}"
    );
}

#[test]
fn decode_rejects_corrupt_datum() {
    let codec = Codec::new();
    let mut record = codec.encode(&sample_event()).unwrap();
    record.truncate(20);

    let error = codec.decode(&record).unwrap_err();

    assert!(matches!(error, DecodeError::Datum(_)), "{error}");
}

/// A writer one version ahead: it knows a consistency level that the current
/// schema lacks. The reader must fall back to the enum's default symbol.
#[test]
fn unknown_consistency_symbol_decodes_to_unknown() {
    let newer_text = DISPATCH_EVENT_SCHEMA.replace(r#""LOCAL_ONE"],"#, r#""LOCAL_ONE", "LOCAL_SERIAL_SOMETHING"],"#);
    assert_ne!(newer_text, DISPATCH_EVENT_SCHEMA, "the schema text changed shape");
    let newer = Schema::parse_str(&newer_text).unwrap();
    let current = Codec::new();
    let writer = Codec::with_schemas(newer.clone(), Vec::new());
    let reader = Codec::with_schemas(current.schema().clone(), vec![newer]);

    let mut event = sample_event();
    let Action::CassandraWrite(write) = &mut event.actions[0];
    write.consistency = Some(Consistency::LocalOne);
    let mut record = writer.encode(&event).unwrap();
    // LOCAL_ONE is symbol 9 in both schemas; rewrite it to symbol 10, which
    // only the newer schema has. Zig-zag 9 is 18 and 10 is 20.
    let position = record
        .windows(2)
        .rposition(|pair| pair == [2, 18])
        .expect("the union branch 1 followed by enum symbol 9");
    record[position + 1] = 20;

    let decoded = reader.decode(&record).unwrap();

    let Action::CassandraWrite(write) = &decoded.actions[0];
    assert_eq!(write.consistency, Some(Consistency::Unknown));
}
