use std::io::Cursor as IoCursor;

use apache_avro::Schema;

use super::super::writer::write_long;
use super::*;
use crate::codec::fingerprint;
use crate::model::CqlValue;
use crate::samples::{event_with_every_action, every_value, typical_event};
use crate::value::event_from_value;
use crate::DISPATCH_EVENT_SCHEMA;

fn schema() -> Schema {
    Schema::parse_str(DISPATCH_EVENT_SCHEMA).unwrap()
}

fn datum(event: &DispatchEvent) -> Vec<u8> {
    let mut out = Vec::new();
    super::super::write_event(&mut out, event).unwrap();
    out
}

/// Decodes `datum` through apache-avro's generic values, the reference.
fn reference(schema: &Schema, datum: &[u8]) -> Result<DispatchEvent, String> {
    let value = apache_avro::from_avro_datum(schema, &mut IoCursor::new(datum), None).map_err(|e| e.to_string())?;
    event_from_value(value).map_err(|e| e.to_string())
}

#[test]
fn fingerprint_is_the_current_schema() {
    assert_eq!(
        fingerprint(&schema()),
        READER_FINGERPRINT,
        "avro/dispatch_event.avsc changed: update binary/reader.rs to the new layout, then READER_FINGERPRINT"
    );
}

#[test]
fn every_sample_decodes_as_apache_avro_does() {
    let schema = schema();
    let mut every_value_event = typical_event();
    if let Action::CassandraWrite(write) = &mut every_value_event.actions[0] {
        write.values = every_value();
    }

    for event in [typical_event(), event_with_every_action(), every_value_event] {
        let datum = datum(&event);

        let decoded = read_event(&datum).unwrap();

        assert_eq!(decoded, event);
        assert_eq!(Ok(decoded), reference(&schema, &datum));
    }
}

/// Other encoders may split an array into several blocks and give a block's
/// size in bytes after a negative count, as the specification allows.
#[test]
fn arrays_in_several_blocks_decode() {
    let event = event_with_every_action();
    let action_bytes: Vec<Vec<u8>> = event
        .actions
        .iter()
        .map(|action| {
            let single = DispatchEvent {
                actions: vec![action.clone()],
                ..event.clone()
            };
            let without = DispatchEvent {
                actions: Vec::new(),
                ..event.clone()
            };
            let prefix_len = datum(&without).len() - 1;
            let bytes = datum(&single);
            bytes[prefix_len + 1..bytes.len() - 1].to_vec()
        })
        .collect();

    let mut blocks = datum(&DispatchEvent {
        actions: Vec::new(),
        ..event.clone()
    });
    blocks.pop();
    write_long(&mut blocks, -1);
    write_long(&mut blocks, action_bytes[0].len() as i64);
    blocks.extend_from_slice(&action_bytes[0]);
    write_long(&mut blocks, (action_bytes.len() - 1) as i64);
    for bytes in &action_bytes[1..] {
        blocks.extend_from_slice(bytes);
    }
    blocks.push(0);

    assert_eq!(read_event(&blocks).unwrap(), event);
    assert_eq!(reference(&schema(), &blocks).unwrap(), event);
}

#[test]
fn every_truncation_is_an_error() {
    let datum = datum(&event_with_every_action());

    for len in 0..datum.len() {
        let error = read_event(&datum[..len]).unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { .. }), "at {len}: {error}");
    }
}

/// Corrupts one byte at a time with pseudo-random values: the decoder never
/// panics and accepts exactly what apache-avro accepts, with the same result.
#[test]
fn corrupt_bytes_decode_as_apache_avro_does() {
    let schema = schema();
    let datum = datum(&event_with_every_action());
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;

    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut corrupt = datum.clone();
        let position = (state % corrupt.len() as u64) as usize;
        corrupt[position] = (state >> 32) as u8;

        let ours = read_event(&corrupt);
        let theirs = reference(&schema, &corrupt);

        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "byte {position} = {:#04x}", corrupt[position]),
            (Err(_), Err(_)) => {}
            _ => panic!(
                "byte {position} = {:#04x}: ours {ours:?}, apache-avro {theirs:?}",
                corrupt[position]
            ),
        }
    }
}

#[test]
fn errors_name_the_field_and_the_problem() {
    let mut event = typical_event();
    event.entity_key = "user-1".into();
    let mut bad = datum(&event);
    // The entity key follows the 36-character event id and its length byte.
    bad[38] = 0xFF;

    let error = read_event(&bad).unwrap_err();

    assert!(
        matches!(
            error,
            DecodeError::Invalid {
                field: "entity_key",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("not UTF-8"), "{error}");
}

#[test]
fn block_count_above_the_bytes_left_is_rejected() {
    let mut bad = datum(&DispatchEvent {
        actions: Vec::new(),
        ..typical_event()
    });
    bad.pop();
    write_long(&mut bad, i64::MAX / 2);

    let error = read_event(&bad).unwrap_err();

    assert!(error.to_string().contains("cannot fit"), "{error}");
}

#[test]
fn unset_and_null_stay_distinct() {
    let mut event = typical_event();
    if let Action::CassandraWrite(write) = &mut event.actions[0] {
        write.values = vec![CqlValue::Unset, CqlValue::Null, CqlValue::Unset];
    }

    let decoded = read_event(&datum(&event)).unwrap();

    assert_eq!(decoded, event);
}
