//! Checks that an event can be executed, made when it is dispatched so that
//! the caller learns of bad input while it still has the request.

use offload_schemas::dml::{check_dml, DmlError};
use offload_schemas::payload::{apns_payload, apns_payload_limit, fcm_message, PayloadError, FCM_MAX_PAYLOAD_BYTES};
use offload_schemas::{Action, ApnsPush, CassandraWrite, CqlValue, DispatchEvent, FcmPush};

/// Maximum length of `apns-collapse-id` in bytes (Apple, "Sending
/// notification requests to APNs").
pub const APNS_MAX_COLLAPSE_ID_BYTES: usize = 64;

/// An event that must not be published. Every variant names the field, as
/// a path inside the entity's event such as `actions[1].collapse_id`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Actions were added for an empty entity key.
    #[error("field `entity_key` is empty: every action needs the key of the entity it concerns")]
    EmptyEntityKey,
    /// The dispatch has no actions.
    #[error("field `actions` is empty: add at least one action before dispatching")]
    NoActions,
    /// A push payload is larger than the provider accepts.
    #[error("entity `{entity_key}`, field `{field}`: the {provider} payload is {size} bytes, over the limit of {limit}; shorten the alert or custom data")]
    PayloadTooLarge {
        /// The entity.
        entity_key: String,
        /// The action, such as `actions[2]`.
        field: String,
        /// `APNs` or `FCM`.
        provider: &'static str,
        /// Size of the payload in bytes.
        size: usize,
        /// The provider's limit in bytes.
        limit: usize,
    },
    /// A write's raw CQL is not one INSERT, UPDATE or DELETE (or a batch of
    /// them). Workers reject it whether or not they allow raw DML.
    #[error("entity `{entity_key}`, field `{field}`: the CQL is not a single data modification statement: {problem}")]
    RawCqlNotDml {
        /// The entity.
        entity_key: String,
        /// The field, such as `actions[0].cql`.
        field: String,
        /// The check's finding; part of the message, so not a source.
        problem: DmlError,
    },
    /// `apns-collapse-id` is longer than APNs allows.
    #[error("entity `{entity_key}`, field `{field}`: {len} bytes, over APNs' limit of 64")]
    CollapseIdTooLong {
        /// The entity.
        entity_key: String,
        /// Such as `actions[1].collapse_id`.
        field: String,
        /// Its length in bytes.
        len: usize,
    },
    /// An FCM push has no target or more than one.
    #[error("entity `{entity_key}`, field `{field}`: an FCM push needs exactly one of token, topic and condition, found {found}")]
    FcmTargets {
        /// The entity.
        entity_key: String,
        /// The action's targets, such as `actions[0].token`.
        field: String,
        /// The targets that are set, or `none`.
        found: String,
    },
    /// An FCM data key is reserved by FCM.
    #[error("entity `{entity_key}`, field `{field}`: FCM reserves this key (from, message_type, and keys starting with google or gcm); rename it")]
    FcmReservedKey {
        /// The entity.
        entity_key: String,
        /// Such as `actions[0].data.from`.
        field: String,
    },
    /// A JSON field of a push does not hold a JSON object.
    #[error("entity `{entity_key}`, field `{field}`: {reason}")]
    InvalidJson {
        /// The entity.
        entity_key: String,
        /// Such as `actions[0].custom_data_json`.
        field: String,
        /// The problem, as the JSON parser reports it.
        reason: String,
    },
    /// A collection contains a value that cannot be a collection element.
    #[error(
        "entity `{entity_key}`, field `{field}`: a {value_type} cannot be a collection element; elements are scalars"
    )]
    NotAnElement {
        /// The entity.
        entity_key: String,
        /// Such as `actions[0].values[3][1]`.
        field: String,
        /// The element's type.
        value_type: &'static str,
    },
}

impl ValidationError {
    /// Returns the path of the invalid field.
    pub fn field(&self) -> &str {
        match self {
            ValidationError::EmptyEntityKey => "entity_key",
            ValidationError::NoActions => "actions",
            ValidationError::PayloadTooLarge { field, .. }
            | ValidationError::CollapseIdTooLong { field, .. }
            | ValidationError::FcmTargets { field, .. }
            | ValidationError::FcmReservedKey { field, .. }
            | ValidationError::InvalidJson { field, .. }
            | ValidationError::NotAnElement { field, .. }
            | ValidationError::RawCqlNotDml { field, .. } => field,
        }
    }
}

/// Checks every action of `event`.
pub fn validate_event(event: &DispatchEvent) -> Result<(), ValidationError> {
    if event.entity_key.is_empty() {
        return Err(ValidationError::EmptyEntityKey);
    }
    if event.actions.is_empty() {
        return Err(ValidationError::NoActions);
    }

    for (index, action) in event.actions.iter().enumerate() {
        let at = Location {
            entity_key: &event.entity_key,
            action: index,
        };
        match action {
            Action::CassandraWrite(write) => validate_cassandra(write, &at)?,
            Action::ApnsPush(push) => validate_apns(push, &at)?,
            Action::FcmPush(push) => validate_fcm(push, &at)?,
        }
    }
    Ok(())
}

/// The entity and action a check is looking at.
struct Location<'a> {
    entity_key: &'a str,
    action: usize,
}

impl Location<'_> {
    fn field(&self, name: &str) -> String {
        if name.is_empty() {
            format!("actions[{}]", self.action)
        } else {
            format!("actions[{}].{name}", self.action)
        }
    }

    fn invalid_json(&self, error: PayloadError) -> ValidationError {
        ValidationError::InvalidJson {
            entity_key: self.entity_key.to_string(),
            field: self.field(error.field),
            reason: error.reason,
        }
    }
}

fn validate_cassandra(write: &CassandraWrite, at: &Location<'_>) -> Result<(), ValidationError> {
    if let Some(cql) = &write.cql {
        check_dml(cql).map_err(|problem| ValidationError::RawCqlNotDml {
            entity_key: at.entity_key.to_string(),
            field: at.field("cql"),
            problem,
        })?;
    }
    for (position, value) in write.values.iter().enumerate() {
        let elements: Vec<&CqlValue> = match value {
            CqlValue::List(elements) | CqlValue::Set(elements) => elements.iter().collect(),
            CqlValue::Map(entries) => entries.iter().flat_map(|(key, value)| [key, value]).collect(),
            _ => continue,
        };
        if let Some((element, bad)) = elements.iter().enumerate().find(|(_, element)| !element.is_scalar()) {
            return Err(ValidationError::NotAnElement {
                entity_key: at.entity_key.to_string(),
                field: at.field(&format!("values[{position}][{element}]")),
                value_type: bad.type_name(),
            });
        }
    }
    Ok(())
}

fn validate_apns(push: &ApnsPush, at: &Location<'_>) -> Result<(), ValidationError> {
    if let Some(collapse_id) = &push.collapse_id {
        if collapse_id.len() > APNS_MAX_COLLAPSE_ID_BYTES {
            return Err(ValidationError::CollapseIdTooLong {
                entity_key: at.entity_key.to_string(),
                field: at.field("collapse_id"),
                len: collapse_id.len(),
            });
        }
    }

    let payload = apns_payload(push).map_err(|error| at.invalid_json(error))?;
    let limit = apns_payload_limit(push.push_type);
    if payload.len() > limit {
        return Err(ValidationError::PayloadTooLarge {
            entity_key: at.entity_key.to_string(),
            field: at.field(""),
            provider: "APNs",
            size: payload.len(),
            limit,
        });
    }
    Ok(())
}

fn validate_fcm(push: &FcmPush, at: &Location<'_>) -> Result<(), ValidationError> {
    let targets: Vec<&str> = [
        ("token", push.token.is_some()),
        ("topic", push.topic.is_some()),
        ("condition", push.condition.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if targets.len() != 1 {
        let field = match targets.as_slice() {
            [] => at.field("token"),
            [_, second, ..] => at.field(second),
            [_] => unreachable!("one target is valid"),
        };
        return Err(ValidationError::FcmTargets {
            entity_key: at.entity_key.to_string(),
            field,
            found: if targets.is_empty() {
                "none".into()
            } else {
                targets.join(" and ")
            },
        });
    }

    if let Some(key) = push.data.keys().find(|key| is_reserved_fcm_key(key)) {
        return Err(ValidationError::FcmReservedKey {
            entity_key: at.entity_key.to_string(),
            field: at.field(&format!("data.{key}")),
        });
    }

    let message = fcm_message(push).map_err(|error| at.invalid_json(error))?;
    let size = serde_json::to_vec(&message).expect("a JSON value serializes").len();
    // NOTE: this measures the whole serialized `message` object, targets
    // and options included, so it may reject a message slightly below the
    // 4096 bytes that FCM counts.
    if size > FCM_MAX_PAYLOAD_BYTES {
        return Err(ValidationError::PayloadTooLarge {
            entity_key: at.entity_key.to_string(),
            field: at.field(""),
            provider: "FCM",
            size,
            limit: FCM_MAX_PAYLOAD_BYTES,
        });
    }
    Ok(())
}

/// Returns whether FCM reserves `key` in `message.data`: `from`,
/// `message_type`, and keys starting with `google` or `gcm` (Firebase,
/// HTTP v1 `Message.data` reference).
pub fn is_reserved_fcm_key(key: &str) -> bool {
    key == "from" || key == "message_type" || key.starts_with("google") || key.starts_with("gcm")
}

#[cfg(test)]
mod tests;
