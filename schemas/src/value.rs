//! Conversion between the event model and Avro's generic [`Value`]s.
//!
//! Union branch indexes follow `avro/dispatch_event.avsc`; decoding reads
//! values already resolved to the current schema, so the indexes are the
//! current schema's even for records written with an older one.

use apache_avro::schema::SchemaKind;
use apache_avro::types::Value;
use uuid::Uuid;

use crate::codec::DecodeError;
use crate::model::{Action, CassandraWrite, Consistency, CqlValue, DispatchEvent};

/// Branch index of each action type in the `actions` item union.
const ACTION_CASSANDRA_WRITE: u32 = 0;

/// Branch indexes of the bound-value union.
mod value_branch {
    pub(super) const NULL: u32 = 0;
    pub(super) const UNSET: u32 = 1;
    pub(super) const BOOLEAN: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const LONG: u32 = 4;
    pub(super) const DOUBLE: u32 = 5;
    pub(super) const STRING: u32 = 6;
    pub(super) const BYTES: u32 = 7;
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
    match action {
        Action::CassandraWrite(write) => {
            Value::Union(ACTION_CASSANDRA_WRITE, Box::new(cassandra_write_to_value(write)))
        }
    }
}

fn cassandra_write_to_value(write: &CassandraWrite) -> Value {
    let values = write.values.iter().map(cql_value_to_value).collect();
    let consistency = optional(write.consistency.map(consistency_to_value));
    let ttl = optional(write.ttl_secs.map(Value::Int));
    let timestamp = optional(write.timestamp_us.map(Value::Long));

    Value::Record(vec![
        ("statement".into(), Value::String(write.statement.clone())),
        ("values".into(), Value::Array(values)),
        ("consistency".into(), consistency),
        ("ttl_secs".into(), ttl),
        ("timestamp_us".into(), timestamp),
    ])
}

fn cql_value_to_value(value: &CqlValue) -> Value {
    use value_branch::*;

    let (branch, inner) = match value {
        CqlValue::Null => (NULL, Value::Null),
        CqlValue::Unset => (UNSET, Value::Record(Vec::new())),
        CqlValue::Boolean(b) => (BOOLEAN, Value::Boolean(*b)),
        CqlValue::Int(i) => (INT, Value::Int(*i)),
        CqlValue::BigInt(i) => (LONG, Value::Long(*i)),
        CqlValue::Double(d) => (DOUBLE, Value::Double(*d)),
        CqlValue::Text(s) => (STRING, Value::String(s.clone())),
        CqlValue::Blob(b) => (BYTES, Value::Bytes(b.clone())),
    };
    Value::Union(branch, Box::new(inner))
}

fn consistency_to_value(level: Consistency) -> Value {
    let index = Consistency::SYMBOLS
        .iter()
        .position(|known| *known == level)
        .expect("every Consistency variant is listed in SYMBOLS");
    Value::Enum(index as u32, level.symbol().to_string())
}

/// Wraps an optional value in a `["null", T]` union.
fn optional(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(value) => Value::Union(1, Box::new(value)),
    }
}

pub(crate) fn event_from_value(value: Value) -> Result<DispatchEvent, DecodeError> {
    let mut fields = Fields::of_record(value, "DispatchEvent")?;

    let event_id = match fields.take("event_id")? {
        Value::Uuid(id) => id,
        Value::String(text) => Uuid::parse_str(&text).map_err(|err| DecodeError::Invalid {
            field: "event_id",
            reason: format!("`{text}` is not a UUID: {err}"),
        })?,
        other => return Err(unexpected("event_id", &other)),
    };
    let entity_key = string(fields.take("entity_key")?, "entity_key")?;
    let created_at_us = match fields.take("created_at_us")? {
        Value::TimestampMicros(us) | Value::Long(us) => us,
        other => return Err(unexpected("created_at_us", &other)),
    };
    let source_service = string(fields.take("source_service")?, "source_service")?;
    let actions = match fields.take("actions")? {
        Value::Array(items) => items
            .into_iter()
            .map(action_from_value)
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(unexpected("actions", &other)),
    };

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
        Value::Union(ACTION_CASSANDRA_WRITE, inner) => Ok(Action::CassandraWrite(cassandra_write_from_value(*inner)?)),
        other => Err(unexpected("actions[]", &other)),
    }
}

fn cassandra_write_from_value(value: Value) -> Result<CassandraWrite, DecodeError> {
    let mut fields = Fields::of_record(value, "CassandraWrite")?;

    let statement = string(fields.take("statement")?, "statement")?;
    let values = match fields.take("values")? {
        Value::Array(items) => items
            .into_iter()
            .map(cql_value_from_value)
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(unexpected("values", &other)),
    };
    let consistency = match unwrap_optional(fields.take("consistency")?) {
        None => None,
        Some(Value::Enum(_, symbol)) => Some(Consistency::from_symbol(&symbol).unwrap_or(Consistency::Unknown)),
        Some(other) => return Err(unexpected("consistency", &other)),
    };
    let ttl_secs = match unwrap_optional(fields.take("ttl_secs")?) {
        None => None,
        Some(Value::Int(ttl)) => Some(ttl),
        Some(other) => return Err(unexpected("ttl_secs", &other)),
    };
    let timestamp_us = match unwrap_optional(fields.take("timestamp_us")?) {
        None => None,
        Some(Value::Long(us)) => Some(us),
        Some(other) => return Err(unexpected("timestamp_us", &other)),
    };

    Ok(CassandraWrite {
        statement,
        values,
        consistency,
        ttl_secs,
        timestamp_us,
    })
}

fn cql_value_from_value(value: Value) -> Result<CqlValue, DecodeError> {
    let inner = match value {
        Value::Union(_, inner) => *inner,
        other => other,
    };
    match inner {
        Value::Null => Ok(CqlValue::Null),
        Value::Record(fields) if fields.is_empty() => Ok(CqlValue::Unset),
        Value::Boolean(b) => Ok(CqlValue::Boolean(b)),
        Value::Int(i) => Ok(CqlValue::Int(i)),
        Value::Long(i) => Ok(CqlValue::BigInt(i)),
        Value::Double(d) => Ok(CqlValue::Double(d)),
        Value::String(s) => Ok(CqlValue::Text(s)),
        Value::Bytes(b) => Ok(CqlValue::Blob(b)),
        other => Err(unexpected("values[]", &other)),
    }
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
