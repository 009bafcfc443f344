//! Conversion between the event model and Avro's generic [`Value`]s.
//!
//! Decoding reads values already resolved to the current schema, so union
//! branch indexes are the current schema's even for records written with an
//! older one. The codec encodes with [`crate::binary`]; `*_to_value` is the
//! reference it is tested against and the way tests write other versions.

pub(crate) mod cassandra;
pub(crate) use cassandra as cassandra_branches;
mod feedback;
mod push;

use apache_avro::schema::SchemaKind;
use apache_avro::types::Value;
use uuid::Uuid;

use crate::codec::DecodeError;
use crate::model::{Action, DispatchEvent};

pub(crate) use feedback::{feedback_from_value, feedback_to_value};

/// Branch indexes of the `actions` item union.
pub(crate) mod action_branch {
    pub(crate) const CASSANDRA_WRITE: u32 = 0;
    pub(crate) const APNS_PUSH: u32 = 1;
    pub(crate) const FCM_PUSH: u32 = 2;
}

pub(crate) fn event_to_value(event: &DispatchEvent) -> Value {
    let actions = event.actions.iter().map(action_to_value).collect();

    Value::Record(vec![
        ("event_id".into(), Value::Uuid(event.event_id)),
        ("entity_key".into(), Value::String(event.entity_key.clone())),
        ("created_at_us".into(), Value::TimestampMicros(event.created_at_us)),
        ("source_service".into(), Value::String(event.source_service.clone())),
        ("actions".into(), Value::Array(actions)),
    ])
}

fn action_to_value(action: &Action) -> Value {
    let (branch, record) = match action {
        Action::CassandraWrite(write) => (action_branch::CASSANDRA_WRITE, cassandra::write_to_value(write)),
        Action::ApnsPush(push) => (action_branch::APNS_PUSH, push::apns_to_value(push)),
        Action::FcmPush(push) => (action_branch::FCM_PUSH, push::fcm_to_value(push)),
    };
    Value::Union(branch, Box::new(record))
}

pub(crate) fn event_from_value(value: Value) -> Result<DispatchEvent, DecodeError> {
    let mut fields = Fields::of_record(value, "DispatchEvent")?;

    let event_id = uuid(fields.take("event_id")?, "event_id")?;
    let entity_key = string(fields.take("entity_key")?, "entity_key")?;
    let created_at_us = match fields.take("created_at_us")? {
        Value::TimestampMicros(us) | Value::Long(us) => us,
        other => return Err(unexpected("created_at_us", &other)),
    };
    let source_service = string(fields.take("source_service")?, "source_service")?;
    let actions = array(fields.take("actions")?, "actions", action_from_value)?;

    Ok(DispatchEvent {
        event_id,
        entity_key,
        created_at_us,
        source_service,
        actions,
    })
}

fn action_from_value(value: Value) -> Result<Action, DecodeError> {
    match value {
        Value::Union(action_branch::CASSANDRA_WRITE, inner) => {
            Ok(Action::CassandraWrite(cassandra::write_from_value(*inner)?))
        }
        Value::Union(action_branch::APNS_PUSH, inner) => Ok(Action::ApnsPush(Box::new(push::apns_from_value(*inner)?))),
        Value::Union(action_branch::FCM_PUSH, inner) => Ok(Action::FcmPush(Box::new(push::fcm_from_value(*inner)?))),
        other => Err(unexpected("actions[]", &other)),
    }
}

/// Wraps an optional value in a `["null", T]` union.
fn optional(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(value) => Value::Union(1, Box::new(value)),
    }
}

fn optional_string(value: &Option<String>) -> Value {
    optional(value.clone().map(Value::String))
}

fn string_array(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

/// Wraps a symbol of an enum declared with `avro_enum!`.
fn symbol(index: u32, symbol: &str) -> Value {
    Value::Enum(index, symbol.to_string())
}

fn unwrap_optional(value: Value) -> Option<Value> {
    match value {
        Value::Union(_, inner) if *inner == Value::Null => None,
        Value::Union(_, inner) => Some(*inner),
        Value::Null => None,
        other => Some(other),
    }
}

fn string(value: Value, field: &'static str) -> Result<String, DecodeError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(unexpected(field, &other)),
    }
}

fn optional_string_from(value: Value, field: &'static str) -> Result<Option<String>, DecodeError> {
    unwrap_optional(value).map(|inner| string(inner, field)).transpose()
}

fn string_array_from(value: Value, field: &'static str) -> Result<Vec<String>, DecodeError> {
    array(value, field, |item| string(item, field))
}

fn uuid(value: Value, field: &'static str) -> Result<Uuid, DecodeError> {
    match value {
        Value::Uuid(id) => Ok(id),
        Value::String(text) => Uuid::parse_str(&text).map_err(|err| DecodeError::Invalid {
            field,
            reason: format!("`{text}` is not a UUID: {err}"),
        }),
        other => Err(unexpected(field, &other)),
    }
}

fn array<T>(
    value: Value,
    field: &'static str,
    item: impl FnMut(Value) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    match value {
        Value::Array(items) => items.into_iter().map(item).collect(),
        other => Err(unexpected(field, &other)),
    }
}

/// Reads an enum symbol; a symbol the model lacks becomes `unknown`.
fn enum_symbol<T>(
    value: Value,
    field: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    unknown: T,
) -> Result<T, DecodeError> {
    match value {
        Value::Enum(_, symbol) => Ok(parse(&symbol).unwrap_or(unknown)),
        other => Err(unexpected(field, &other)),
    }
}

fn unexpected(field: &'static str, value: &Value) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: format!("unexpected Avro {:?} value", SchemaKind::from(value)),
    }
}

/// The fields of a decoded record, taken out by name.
struct Fields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn of_record(value: Value, record: &'static str) -> Result<Fields, DecodeError> {
        match value {
            Value::Record(fields) => Ok(Fields { record, fields }),
            other => Err(DecodeError::Invalid {
                field: record,
                reason: format!("expected a record, found {:?}", SchemaKind::from(&other)),
            }),
        }
    }

    fn take(&mut self, name: &'static str) -> Result<Value, DecodeError> {
        let position = self
            .fields
            .iter()
            .position(|(field, _)| field == name)
            .ok_or(DecodeError::Invalid {
                field: name,
                reason: format!("missing in record {}", self.record),
            })?;
        Ok(self.fields.swap_remove(position).1)
    }
}
