//! Requests as JSON lines, the input of `offload-produce`.
//!
//! One line is one request: the actions it dispatches, each with the entity
//! it concerns. Actions of one entity become one event, as with
//! [`crate::Dispatcher`].
//!
//! ```json
//! {"actions": [
//!   {"entity_key": "post-42", "action": {"cassandra_write": {"statement": "add_like", "values": [{"counter_delta": 1}, {"text": "post-42"}]}}},
//!   {"entity_key": "user-7", "action": {"fcm_push": {"token": "…", "data": {"post": "42"}}}}
//! ]}
//! ```
//!
//! Field names and enum symbols are those of the Avro schema; unknown
//! fields are errors. Values are typed objects such as `{"bigint": 5}`
//! (see [`offload_schemas::CqlValue`]).

use offload_schemas::Action;
use serde::Deserialize;

use crate::{Dispatcher, Publisher};

/// One request read from a line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRequest {
    /// The request's actions, in order.
    pub actions: Vec<JsonAction>,
}

/// One action and its entity.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAction {
    /// The entity the action concerns.
    pub entity_key: String,
    /// The action.
    pub action: Action,
}

impl JsonRequest {
    /// Returns a dispatcher holding the request's actions.
    pub fn into_dispatcher(self, publisher: &Publisher) -> Dispatcher {
        let mut dispatcher = Dispatcher::new(publisher);
        for JsonAction { entity_key, action } in self.actions {
            dispatcher.add(entity_key, action);
        }
        dispatcher
    }
}

/// A line that is not a valid request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}{message}", if field.is_empty() { String::new() } else { format!("field `{field}`: ") })]
pub struct JsonLineError {
    /// Line number, from 1.
    pub line: usize,
    /// Path of the offending field, such as `actions[0].action.fcm_push.data.badge`;
    /// empty when the line is not JSON at all.
    pub field: String,
    /// The problem, as serde_json reports it.
    pub message: String,
}

/// Parses line number `line` (counted from 1) into a request.
pub fn parse_request(line: usize, text: &str) -> Result<JsonRequest, JsonLineError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        JsonLineError {
            line,
            // serde_path_to_error writes `.` or `?` when the error is not inside a field.
            field: if field == "." || field == "?" {
                String::new()
            } else {
                field
            },
            message: error.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
