//! The Avro binary decoder for datums written with the current schema.
//!
//! apache-avro 0.21 builds a map of every named type of the writer schema
//! for each datum it decodes, and then a generic `Value` tree that the model
//! is converted from. For the current schema, whose layout this module
//! mirrors field by field, the datum is read straight into the model
//! instead. The unit tests decode the same records both ways and compare.
//!
//! Like apache-avro, the decoder stops after the last field and ignores any
//! bytes that follow.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::cursor::Cursor;
use crate::codec::DecodeError;
use crate::model::{
    Action, AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, CassandraWrite,
    Consistency, CqlValue, DispatchEvent, FcmAndroidConfig, FcmNotification, FcmPush, SerialConsistency,
};
use crate::value::action_branch;
use crate::value::cassandra_branches::{element_branch, inet_from_bytes, value_branch};

/// The CRC-64-AVRO fingerprint (little-endian) of the schema this decoder
/// mirrors. The codec uses the decoder only for records carrying it, and a
/// unit test fails when `avro/dispatch_event.avsc` changes without this
/// module.
pub(crate) const READER_FINGERPRINT: [u8; 8] = [0xd6, 0xdb, 0x84, 0x49, 0x93, 0x4e, 0x13, 0xb3];

/// Branches of the `actions` item union.
const ACTION_BRANCHES: u32 = 3;

/// Branches of the bound-value union: null, the 14 scalars, counter delta,
/// list, set, map and unset.
const VALUE_BRANCHES: u32 = value_branch::UNSET + 1;

/// Branches of the collection-element union: the 14 scalars.
const ELEMENT_BRANCHES: u32 = element_branch::INET + 1;

/// Decodes a datum written with the schema of [`READER_FINGERPRINT`].
pub(crate) fn read_event(datum: &[u8]) -> Result<DispatchEvent, DecodeError> {
    let mut cursor = Cursor::new(datum);

    let event_id = cursor.uuid("event_id")?;
    let entity_key = cursor.string("entity_key")?;
    let created_at_us = cursor.long("created_at_us")?;
    let source_service = cursor.string("source_service")?;
    let actions = cursor.array("actions", read_action)?;

    Ok(DispatchEvent {
        event_id,
        entity_key,
        created_at_us,
        source_service,
        actions,
    })
}

fn read_action(cursor: &mut Cursor<'_>) -> Result<Action, DecodeError> {
    match cursor.branch("actions[]", ACTION_BRANCHES)? {
        action_branch::CASSANDRA_WRITE => Ok(Action::CassandraWrite(read_cassandra(cursor)?)),
        action_branch::APNS_PUSH => Ok(Action::ApnsPush(Box::new(read_apns(cursor)?))),
        _ => Ok(Action::FcmPush(Box::new(read_fcm(cursor)?))),
    }
}

fn read_cassandra(cursor: &mut Cursor<'_>) -> Result<CassandraWrite, DecodeError> {
    Ok(CassandraWrite {
        statement: cursor.string("statement")?,
        values: cursor.array("values", read_value)?,
        consistency: cursor.optional("consistency", |cursor| {
            cursor.symbol("consistency", Consistency::SYMBOLS)
        })?,
        ttl_secs: cursor.optional("ttl_secs", |cursor| cursor.int("ttl_secs"))?,
        timestamp_us: cursor.optional("timestamp_us", |cursor| cursor.long("timestamp_us"))?,
        serial_consistency: cursor.optional("serial_consistency", |cursor| {
            cursor.symbol("serial_consistency", SerialConsistency::SYMBOLS)
        })?,
        cql: cursor.optional_string("cql")?,
    })
}

fn read_value(cursor: &mut Cursor<'_>) -> Result<CqlValue, DecodeError> {
    use value_branch::*;

    let value = match cursor.branch("values[]", VALUE_BRANCHES)? {
        NULL => CqlValue::Null,
        UNSET => CqlValue::Unset,
        COUNTER_DELTA => CqlValue::CounterDelta(cursor.long("values[].delta")?),
        LIST => CqlValue::List(cursor.array("values[].elements", read_element)?),
        SET => CqlValue::Set(cursor.array("values[].members", read_element)?),
        MAP => CqlValue::Map(cursor.array("values[].entries", |cursor| {
            Ok((read_element(cursor)?, read_element(cursor)?))
        })?),
        scalar => read_scalar(cursor, scalar - SCALAR_OFFSET)?,
    };
    Ok(value)
}

fn read_element(cursor: &mut Cursor<'_>) -> Result<CqlValue, DecodeError> {
    let branch = cursor.branch("values[]", ELEMENT_BRANCHES)?;
    read_scalar(cursor, branch)
}

/// Reads the scalar of element-union branch `branch`.
fn read_scalar(cursor: &mut Cursor<'_>, branch: u32) -> Result<CqlValue, DecodeError> {
    use element_branch::*;

    let value = match branch {
        BOOLEAN => CqlValue::Boolean(cursor.boolean("values[]")?),
        INT => CqlValue::Int(cursor.int("values[]")?),
        LONG => CqlValue::BigInt(cursor.long("values[]")?),
        FLOAT => CqlValue::Float(cursor.float("values[]")?),
        DOUBLE => CqlValue::Double(cursor.double("values[]")?),
        STRING => CqlValue::Text(cursor.string("values[]")?),
        BYTES => CqlValue::Blob(cursor.bytes("values[]")?.to_vec()),
        UUID => CqlValue::Uuid(cursor.uuid("values[].uuid")?),
        TIMEUUID => CqlValue::TimeUuid(cursor.uuid("values[].timeuuid")?),
        TIMESTAMP => CqlValue::Timestamp(cursor.long("values[].millis")?),
        DATE => CqlValue::Date(cursor.int("values[].days")?),
        DECIMAL => CqlValue::Decimal {
            unscaled: cursor.bytes("values[].unscaled")?.to_vec(),
            scale: cursor.int("values[].scale")?,
        },
        VARINT => CqlValue::Varint(cursor.bytes("values[].varint")?.to_vec()),
        _ => CqlValue::Inet(read_inet(cursor)?),
    };
    Ok(value)
}

fn read_inet(cursor: &mut Cursor<'_>) -> Result<IpAddr, DecodeError> {
    inet_from_bytes(cursor.bytes("values[].address")?)
}

fn read_apns(cursor: &mut Cursor<'_>) -> Result<ApnsPush, DecodeError> {
    Ok(ApnsPush {
        device_token: cursor.string("device_token")?,
        topic: cursor.string("topic")?,
        push_type: cursor.symbol("push_type", ApnsPushType::SYMBOLS)?,
        priority: cursor.optional("priority", |cursor| cursor.symbol("priority", ApnsPriority::SYMBOLS))?,
        expiration_epoch_secs: cursor
            .optional("expiration_epoch_secs", |cursor| cursor.long("expiration_epoch_secs"))?,
        collapse_id: cursor.optional_string("collapse_id")?,
        apns_id: cursor.optional("apns_id", |cursor| cursor.uuid("apns_id"))?,
        alert: cursor.optional("alert", read_alert)?,
        badge: cursor.optional("badge", |cursor| cursor.int("badge"))?,
        sound: cursor.optional_string("sound")?,
        content_available: cursor.boolean("content_available")?,
        mutable_content: cursor.boolean("mutable_content")?,
        thread_id: cursor.optional_string("thread_id")?,
        category: cursor.optional_string("category")?,
        interruption_level: cursor.optional("interruption_level", |cursor| {
            cursor.symbol("interruption_level", ApnsInterruptionLevel::SYMBOLS)
        })?,
        custom_data_json: cursor.optional_string("custom_data_json")?,
    })
}

fn read_alert(cursor: &mut Cursor<'_>) -> Result<ApnsAlert, DecodeError> {
    Ok(ApnsAlert {
        title: cursor.optional_string("alert.title")?,
        subtitle: cursor.optional_string("alert.subtitle")?,
        body: cursor.optional_string("alert.body")?,
        launch_image: cursor.optional_string("alert.launch_image")?,
        title_loc_key: cursor.optional_string("alert.title_loc_key")?,
        title_loc_args: cursor.string_array("alert.title_loc_args")?,
        subtitle_loc_key: cursor.optional_string("alert.subtitle_loc_key")?,
        subtitle_loc_args: cursor.string_array("alert.subtitle_loc_args")?,
        loc_key: cursor.optional_string("alert.loc_key")?,
        loc_args: cursor.string_array("alert.loc_args")?,
    })
}

fn read_fcm(cursor: &mut Cursor<'_>) -> Result<FcmPush, DecodeError> {
    Ok(FcmPush {
        token: cursor.optional_string("token")?,
        topic: cursor.optional_string("topic")?,
        condition: cursor.optional_string("condition")?,
        notification: cursor.optional("notification", read_notification)?,
        data: read_data(cursor)?,
        android: cursor.optional("android", read_android)?,
        apns_override_json: cursor.optional_string("apns_override_json")?,
        webpush_override_json: cursor.optional_string("webpush_override_json")?,
    })
}

fn read_notification(cursor: &mut Cursor<'_>) -> Result<FcmNotification, DecodeError> {
    Ok(FcmNotification {
        title: cursor.optional_string("notification.title")?,
        body: cursor.optional_string("notification.body")?,
        image: cursor.optional_string("notification.image")?,
    })
}

/// Reads the `data` map. A key written twice keeps its last value, as in
/// apache-avro's map.
fn read_data(cursor: &mut Cursor<'_>) -> Result<BTreeMap<String, String>, DecodeError> {
    let entries = cursor.array("data", |cursor| Ok((cursor.string("data")?, cursor.string("data")?)))?;
    Ok(entries.into_iter().collect())
}

fn read_android(cursor: &mut Cursor<'_>) -> Result<FcmAndroidConfig, DecodeError> {
    Ok(FcmAndroidConfig {
        priority: cursor.optional("android.priority", |cursor| {
            cursor.symbol("android.priority", AndroidPriority::SYMBOLS)
        })?,
        ttl_secs: cursor.optional("android.ttl_secs", |cursor| cursor.long("android.ttl_secs"))?,
        collapse_key: cursor.optional_string("android.collapse_key")?,
        channel_id: cursor.optional_string("android.channel_id")?,
    })
}

#[cfg(test)]
mod tests;
