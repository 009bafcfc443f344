//! The JSON bodies that push providers receive, built from the model so that
//! the producer can check their sizes and the worker can send them.
//!
//! - APNs: the notification payload, an object with the `aps` dictionary and
//!   the custom keys (Apple, "Generating a remote notification").
//! - FCM: the `message` object of the HTTP v1 `messages:send` request
//!   (Firebase, "REST Resource: projects.messages").

use serde_json::{json, Map, Value};

use crate::model::{ApnsAlert, ApnsPush, ApnsPushType, FcmPush};

/// Maximum APNs payload size in bytes for every push type but VoIP.
pub const APNS_MAX_PAYLOAD_BYTES: usize = 4096;

/// Maximum APNs payload size in bytes of VoIP notifications.
pub const APNS_MAX_VOIP_PAYLOAD_BYTES: usize = 5120;

/// Maximum FCM message payload size in bytes, for notification and data messages alike.
pub const FCM_MAX_PAYLOAD_BYTES: usize = 4096;

/// A JSON field of a push action whose content is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` is invalid: {reason}")]
pub struct PayloadError {
    /// The field, for example `custom_data_json`.
    pub field: &'static str,
    /// The problem, in words.
    pub reason: String,
}

/// Returns the APNs payload size limit of a push type.
pub fn apns_payload_limit(push_type: ApnsPushType) -> usize {
    match push_type {
        ApnsPushType::Voip => APNS_MAX_VOIP_PAYLOAD_BYTES,
        _ => APNS_MAX_PAYLOAD_BYTES,
    }
}

/// Builds the APNs payload of `push` as JSON bytes.
pub fn apns_payload(push: &ApnsPush) -> Result<Vec<u8>, PayloadError> {
    let mut aps = Map::new();
    if let Some(alert) = &push.alert {
        aps.insert("alert".into(), alert_json(alert));
    }
    if let Some(badge) = push.badge {
        aps.insert("badge".into(), badge.into());
    }
    if let Some(sound) = &push.sound {
        aps.insert("sound".into(), sound.clone().into());
    }
    if push.content_available {
        aps.insert("content-available".into(), 1.into());
    }
    if push.mutable_content {
        aps.insert("mutable-content".into(), 1.into());
    }
    if let Some(thread_id) = &push.thread_id {
        aps.insert("thread-id".into(), thread_id.clone().into());
    }
    if let Some(category) = &push.category {
        aps.insert("category".into(), category.clone().into());
    }
    if let Some(level) = push.interruption_level.and_then(|level| level.payload_value()) {
        aps.insert("interruption-level".into(), level.into());
    }

    let mut payload = match &push.custom_data_json {
        Some(text) => json_object(text, "custom_data_json")?,
        None => Map::new(),
    };
    if payload.contains_key("aps") {
        return Err(PayloadError {
            field: "custom_data_json",
            reason: "the key `aps` is reserved for the APNs dictionary; set the alert, badge and sound fields instead"
                .into(),
        });
    }
    payload.insert("aps".into(), Value::Object(aps));

    Ok(serde_json::to_vec(&payload).expect("a JSON map serializes"))
}

fn alert_json(alert: &ApnsAlert) -> Value {
    let mut object = Map::new();
    let mut text = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            object.insert(key.into(), value.clone().into());
        }
    };
    text("title", &alert.title);
    text("subtitle", &alert.subtitle);
    text("body", &alert.body);
    text("launch-image", &alert.launch_image);
    text("title-loc-key", &alert.title_loc_key);
    text("subtitle-loc-key", &alert.subtitle_loc_key);
    text("loc-key", &alert.loc_key);

    let mut args = |key: &str, values: &[String]| {
        if !values.is_empty() {
            object.insert(key.into(), values.to_vec().into());
        }
    };
    args("title-loc-args", &alert.title_loc_args);
    args("subtitle-loc-args", &alert.subtitle_loc_args);
    args("loc-args", &alert.loc_args);
    Value::Object(object)
}

/// Builds the `message` object of an FCM HTTP v1 send request.
pub fn fcm_message(push: &FcmPush) -> Result<Value, PayloadError> {
    let mut message = Map::new();
    let targets = [
        ("token", &push.token),
        ("topic", &push.topic),
        ("condition", &push.condition),
    ];
    for (key, value) in targets {
        if let Some(value) = value {
            message.insert(key.into(), value.clone().into());
        }
    }

    if let Some(notification) = &push.notification {
        let mut object = Map::new();
        for (key, value) in [
            ("title", &notification.title),
            ("body", &notification.body),
            ("image", &notification.image),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.clone().into());
            }
        }
        message.insert("notification".into(), Value::Object(object));
    }
    if !push.data.is_empty() {
        message.insert("data".into(), json!(push.data));
    }
    if let Some(android) = &push.android {
        let mut object = Map::new();
        if let Some(priority) = android.priority {
            if priority != crate::model::AndroidPriority::Unknown {
                object.insert("priority".into(), priority.symbol().into());
            }
        }
        if let Some(ttl) = android.ttl_secs {
            // A google.protobuf.Duration in JSON: seconds with an `s` suffix.
            object.insert("ttl".into(), format!("{ttl}s").into());
        }
        if let Some(collapse_key) = &android.collapse_key {
            object.insert("collapse_key".into(), collapse_key.clone().into());
        }
        if let Some(channel_id) = &android.channel_id {
            object.insert("notification".into(), json!({ "channel_id": channel_id }));
        }
        message.insert("android".into(), Value::Object(object));
    }
    if let Some(text) = &push.apns_override_json {
        message.insert("apns".into(), Value::Object(json_object(text, "apns_override_json")?));
    }
    if let Some(text) = &push.webpush_override_json {
        message.insert(
            "webpush".into(),
            Value::Object(json_object(text, "webpush_override_json")?),
        );
    }
    Ok(Value::Object(message))
}

fn json_object(text: &str, field: &'static str) -> Result<Map<String, Value>, PayloadError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(PayloadError {
            field,
            reason: format!("expected a JSON object, found {}", json_kind(&other)),
        }),
        Err(err) => Err(PayloadError {
            field,
            reason: format!("not valid JSON: {err}"),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{full_apns_push, full_fcm_push};

    #[test]
    fn apns_payload_has_aps_and_custom_keys() {
        let payload: Value = serde_json::from_slice(&apns_payload(&full_apns_push()).unwrap()).unwrap();

        assert_eq!(payload["post_id"], "42");
        assert_eq!(payload["aps"]["alert"]["title"], "New like");
        assert_eq!(payload["aps"]["alert"]["loc-args"], json!(["Ada", "photo"]));
        assert_eq!(payload["aps"]["badge"], 3);
        assert_eq!(payload["aps"]["content-available"], 1);
        assert_eq!(payload["aps"]["mutable-content"], 1);
        assert_eq!(payload["aps"]["interruption-level"], "time-sensitive");
        assert_eq!(payload["aps"]["thread-id"], "post-42");
    }

    #[test]
    fn apns_custom_data_rejects_aps_and_arrays() {
        let mut push = full_apns_push();
        push.custom_data_json = Some(r#"{"aps":{}}"#.into());
        let reserved = apns_payload(&push).unwrap_err();
        push.custom_data_json = Some("[1]".into());
        let array = apns_payload(&push).unwrap_err();

        assert_eq!(reserved.field, "custom_data_json");
        assert!(reserved.reason.contains("`aps`"), "{reserved}");
        assert!(array.reason.contains("an array"), "{array}");
    }

    #[test]
    fn voip_pushes_get_the_larger_limit() {
        assert_eq!(apns_payload_limit(ApnsPushType::Voip), 5120);
        assert_eq!(apns_payload_limit(ApnsPushType::Alert), 4096);
    }

    #[test]
    fn fcm_message_has_target_and_options() {
        let message = fcm_message(&full_fcm_push()).unwrap();

        assert_eq!(message["token"], "fcm-token-1");
        assert!(message.get("topic").is_none());
        assert_eq!(message["data"]["post_id"], "42");
        assert_eq!(message["android"]["priority"], "HIGH");
        assert_eq!(message["android"]["ttl"], "86400s");
        assert_eq!(message["android"]["notification"]["channel_id"], "social");
        assert_eq!(message["apns"]["headers"]["apns-priority"], "5");
        assert_eq!(message["webpush"]["headers"]["TTL"], "60");
    }
}
