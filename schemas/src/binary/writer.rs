//! The Avro binary encoder: writes the datum straight from the model.
//!
//! Building apache-avro's generic `Value` tree and validating it against the
//! schema costs more than the encoding itself. The unit tests check that the
//! output equals apache-avro's encoding of the same event.

use uuid::Uuid;

use crate::model::{Action, ApnsAlert, ApnsPush, CassandraWrite, CqlValue, DispatchEvent, FcmAndroidConfig, FcmPush};
use crate::value::action_branch;
use crate::value::cassandra_branches::{element_branch, value_branch};

/// A value that the schema cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotAnElement {
    /// Type of the value found inside a collection.
    pub(crate) value_type: &'static str,
}

/// Appends the Avro binary datum of `event` to `out`.
pub(crate) fn write_event(out: &mut Vec<u8>, event: &DispatchEvent) -> Result<(), NotAnElement> {
    write_uuid(out, &event.event_id);
    write_str(out, &event.entity_key);
    write_long(out, event.created_at_us);
    write_str(out, &event.source_service);

    write_block_len(out, event.actions.len());
    for action in &event.actions {
        match action {
            Action::CassandraWrite(write) => {
                write_long(out, i64::from(action_branch::CASSANDRA_WRITE));
                write_cassandra(out, write)?;
            }
            Action::ApnsPush(push) => {
                write_long(out, i64::from(action_branch::APNS_PUSH));
                write_apns(out, push);
            }
            Action::FcmPush(push) => {
                write_long(out, i64::from(action_branch::FCM_PUSH));
                write_fcm(out, push);
            }
        }
    }
    write_array_end(out);
    Ok(())
}

fn write_cassandra(out: &mut Vec<u8>, write: &CassandraWrite) -> Result<(), NotAnElement> {
    write_str(out, &write.statement);

    write_block_len(out, write.values.len());
    for value in &write.values {
        write_value(out, value)?;
    }
    write_array_end(out);

    write_optional(out, write.consistency, |out, level| {
        write_long(out, i64::from(level.index()))
    });
    write_optional(out, write.ttl_secs, |out, ttl| write_long(out, i64::from(ttl)));
    write_optional(out, write.timestamp_us, write_long);
    write_optional(out, write.serial_consistency, |out, level| {
        write_long(out, i64::from(level.index()))
    });
    write_optional_str(out, &write.cql);
    Ok(())
}

fn write_value(out: &mut Vec<u8>, value: &CqlValue) -> Result<(), NotAnElement> {
    use value_branch::*;

    match value {
        CqlValue::Null => write_long(out, i64::from(NULL)),
        CqlValue::Unset => write_long(out, i64::from(UNSET)),
        CqlValue::CounterDelta(delta) => {
            write_long(out, i64::from(COUNTER_DELTA));
            write_long(out, *delta);
        }
        CqlValue::List(elements) => {
            write_long(out, i64::from(LIST));
            write_elements(out, elements)?;
        }
        CqlValue::Set(members) => {
            write_long(out, i64::from(SET));
            write_elements(out, members)?;
        }
        CqlValue::Map(entries) => {
            write_long(out, i64::from(MAP));
            write_block_len(out, entries.len());
            for (key, value) in entries {
                write_element(out, key, 0)?;
                write_element(out, value, 0)?;
            }
            write_array_end(out);
        }
        scalar => write_element(out, scalar, SCALAR_OFFSET)?,
    }
    Ok(())
}

fn write_elements(out: &mut Vec<u8>, elements: &[CqlValue]) -> Result<(), NotAnElement> {
    write_block_len(out, elements.len());
    for element in elements {
        write_element(out, element, 0)?;
    }
    write_array_end(out);
    Ok(())
}

/// Writes a scalar as a branch of the element union, whose indexes are
/// `offset` lower than those of the value union.
fn write_element(out: &mut Vec<u8>, value: &CqlValue, offset: u32) -> Result<(), NotAnElement> {
    use element_branch::*;

    let branch = |out: &mut Vec<u8>, index: u32| write_long(out, i64::from(index + offset));
    match value {
        CqlValue::Boolean(b) => {
            branch(out, BOOLEAN);
            out.push(u8::from(*b));
        }
        CqlValue::Int(i) => {
            branch(out, INT);
            write_long(out, i64::from(*i));
        }
        CqlValue::BigInt(i) => {
            branch(out, LONG);
            write_long(out, *i);
        }
        CqlValue::Float(f) => {
            branch(out, FLOAT);
            out.extend_from_slice(&f.to_le_bytes());
        }
        CqlValue::Double(d) => {
            branch(out, DOUBLE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        CqlValue::Text(s) => {
            branch(out, STRING);
            write_str(out, s);
        }
        CqlValue::Blob(b) => {
            branch(out, BYTES);
            write_bytes(out, b);
        }
        CqlValue::Uuid(id) => {
            branch(out, UUID);
            write_uuid(out, id);
        }
        CqlValue::TimeUuid(id) => {
            branch(out, TIMEUUID);
            write_uuid(out, id);
        }
        CqlValue::Timestamp(ms) => {
            branch(out, TIMESTAMP);
            write_long(out, *ms);
        }
        CqlValue::Date(days) => {
            branch(out, DATE);
            write_long(out, i64::from(*days));
        }
        CqlValue::Decimal { unscaled, scale } => {
            branch(out, DECIMAL);
            write_bytes(out, unscaled);
            write_long(out, i64::from(*scale));
        }
        CqlValue::Varint(bytes) => {
            branch(out, VARINT);
            write_bytes(out, bytes);
        }
        CqlValue::Inet(address) => {
            branch(out, INET);
            match address {
                std::net::IpAddr::V4(v4) => write_bytes(out, &v4.octets()),
                std::net::IpAddr::V6(v6) => write_bytes(out, &v6.octets()),
            }
        }
        other => {
            return Err(NotAnElement {
                value_type: other.type_name(),
            })
        }
    }
    Ok(())
}

fn write_apns(out: &mut Vec<u8>, push: &ApnsPush) {
    write_str(out, &push.device_token);
    write_str(out, &push.topic);
    write_long(out, i64::from(push.push_type.index()));
    write_optional(out, push.priority, |out, level| {
        write_long(out, i64::from(level.index()))
    });
    write_optional(out, push.expiration_epoch_secs, write_long);
    write_optional_str(out, &push.collapse_id);
    write_optional(out, push.apns_id.as_ref(), write_uuid);
    write_optional(out, push.alert.as_ref(), write_alert);
    write_optional(out, push.badge, |out, badge| write_long(out, i64::from(badge)));
    write_optional_str(out, &push.sound);
    out.push(u8::from(push.content_available));
    out.push(u8::from(push.mutable_content));
    write_optional_str(out, &push.thread_id);
    write_optional_str(out, &push.category);
    write_optional(out, push.interruption_level, |out, level| {
        write_long(out, i64::from(level.index()))
    });
    write_optional_str(out, &push.custom_data_json);
}

fn write_alert(out: &mut Vec<u8>, alert: &ApnsAlert) {
    write_optional_str(out, &alert.title);
    write_optional_str(out, &alert.subtitle);
    write_optional_str(out, &alert.body);
    write_optional_str(out, &alert.launch_image);
    write_optional_str(out, &alert.title_loc_key);
    write_strings(out, &alert.title_loc_args);
    write_optional_str(out, &alert.subtitle_loc_key);
    write_strings(out, &alert.subtitle_loc_args);
    write_optional_str(out, &alert.loc_key);
    write_strings(out, &alert.loc_args);
}

fn write_fcm(out: &mut Vec<u8>, push: &FcmPush) {
    write_optional_str(out, &push.token);
    write_optional_str(out, &push.topic);
    write_optional_str(out, &push.condition);
    write_optional(out, push.notification.as_ref(), |out, notification| {
        write_optional_str(out, &notification.title);
        write_optional_str(out, &notification.body);
        write_optional_str(out, &notification.image);
    });

    write_block_len(out, push.data.len());
    for (key, value) in &push.data {
        write_str(out, key);
        write_str(out, value);
    }
    write_array_end(out);

    write_optional(out, push.android.as_ref(), write_android);
    write_optional_str(out, &push.apns_override_json);
    write_optional_str(out, &push.webpush_override_json);
}

fn write_android(out: &mut Vec<u8>, android: &FcmAndroidConfig) {
    write_optional(out, android.priority, |out, level| {
        write_long(out, i64::from(level.index()))
    });
    write_optional(out, android.ttl_secs, write_long);
    write_optional_str(out, &android.collapse_key);
    write_optional_str(out, &android.channel_id);
}

/// Writes a `["null", T]` union.
fn write_optional<T>(out: &mut Vec<u8>, value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(2);
            write(out, value);
        }
    }
}

fn write_optional_str(out: &mut Vec<u8>, value: &Option<String>) {
    write_optional(out, value.as_deref(), write_str);
}

fn write_strings(out: &mut Vec<u8>, values: &[String]) {
    write_block_len(out, values.len());
    for value in values {
        write_str(out, value);
    }
    write_array_end(out);
}

/// Opens the single block of a non-empty array or map; an empty one is only
/// its terminating zero, which [`write_array_end`] writes.
fn write_block_len(out: &mut Vec<u8>, len: usize) {
    if len > 0 {
        write_long(out, len as i64);
    }
}

fn write_array_end(out: &mut Vec<u8>) {
    out.push(0);
}

fn write_uuid(out: &mut Vec<u8>, id: &Uuid) {
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    write_str(out, id.hyphenated().encode_lower(&mut text));
}

fn write_str(out: &mut Vec<u8>, value: &str) {
    write_bytes(out, value.as_bytes());
}

fn write_bytes(out: &mut Vec<u8>, value: &[u8]) {
    write_long(out, value.len() as i64);
    out.extend_from_slice(value);
}

/// Writes a zig-zag variable-length long.
pub(super) fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}
