//! An FCM HTTP v1 message (`projects.messages` resource, Firebase
//! documentation, read December 2026), limited to the fields offload sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::ids::derive_ids;
use crate::outcome::Invalid;

/// One message to a device, a topic or a condition over topics.
#[derive(Debug, Clone, PartialEq)]
pub struct FcmMessage {
    /// The recipient.
    pub target: FcmTarget,
    /// The notification the system shows.
    pub notification: Option<FcmNotification>,
    /// Key-value pairs for the app; FCM accepts only string values.
    pub data: BTreeMap<String, String>,
    /// Android delivery options.
    pub android: Option<AndroidConfig>,
    /// The `apns` override object, passed through as given.
    pub apns: Option<Value>,
    /// The `webpush` override object, passed through as given.
    pub webpush: Option<Value>,
}

/// The recipient: exactly one of FCM's `token`, `topic` and `condition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FcmTarget {
    /// A registration token of one app instance.
    Token(String),
    /// A topic name, without the `/topics/` prefix.
    Topic(String),
    /// A condition such as `'cats' in topics && 'dogs' in topics`.
    Condition(String),
}

impl FcmTarget {
    /// Builds the target from three optional fields, of which exactly one
    /// must be set.
    pub fn from_fields(
        token: Option<String>,
        topic: Option<String>,
        condition: Option<String>,
    ) -> Result<FcmTarget, Invalid> {
        match (token, topic, condition) {
            (Some(token), None, None) => Ok(FcmTarget::Token(token)),
            (None, Some(topic), None) => Ok(FcmTarget::Topic(topic)),
            (None, None, Some(condition)) => Ok(FcmTarget::Condition(condition)),
            _ => Err(Invalid::BadField {
                field: "target",
                rule: "set exactly one of token, topic and condition".into(),
            }),
        }
    }
}

/// The shown notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FcmNotification {
    /// Title.
    pub title: Option<String>,
    /// Body text.
    pub body: Option<String>,
    /// URL of an image to show.
    pub image: Option<String>,
}

/// Android delivery options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AndroidConfig {
    /// `NORMAL` or `HIGH`.
    pub priority: Option<AndroidPriority>,
    /// How long FCM keeps the message while the device is offline.
    pub ttl: Option<Duration>,
    /// Messages with the same key replace each other while undelivered.
    pub collapse_key: Option<String>,
    /// The Android notification channel.
    pub channel_id: Option<String>,
}

/// Android message priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AndroidPriority {
    /// May be delayed to save battery.
    Normal,
    /// Delivered immediately, waking the device.
    High,
}

/// Data keys FCM reserves (the `data` field of the message resource).
const RESERVED_DATA_KEYS: [&str; 2] = ["from", "message_type"];

/// Data key prefixes FCM reserves.
const RESERVED_DATA_PREFIXES: [&str; 2] = ["google", "gcm"];

impl FcmMessage {
    /// A message to `target` with nothing else set.
    pub fn new(target: FcmTarget) -> FcmMessage {
        FcmMessage {
            target,
            notification: None,
            data: BTreeMap::new(),
            android: None,
            apns: None,
            webpush: None,
        }
    }

    /// Sets Android's collapse key derived from the event id and the action's
    /// index, unless one is set. Only messages with an `android` section get
    /// one, because a collapse key changes how Android stores the message.
    pub fn fill_derived_collapse_key(&mut self, event_id: Uuid, index: usize) {
        if let Some(android) = &mut self.android {
            android
                .collapse_key
                .get_or_insert_with(|| derive_ids(event_id, index).collapse_id);
        }
    }

    /// Checks what FCM would reject for certain, before anything is sent.
    pub fn check(&self) -> Result<(), Invalid> {
        match &self.target {
            FcmTarget::Token(token) if token.trim().is_empty() || token.contains(char::is_whitespace) => {
                return Err(Invalid::BadDeviceToken {
                    token_suffix: crate::apns::notification::token_suffix(token),
                });
            }
            FcmTarget::Topic(topic) if !is_topic_name(topic) => {
                return Err(bad_field(
                    "target",
                    format!("topic `{topic}` must match [a-zA-Z0-9-_.~%]+"),
                ));
            }
            FcmTarget::Condition(condition) if condition.trim().is_empty() => {
                return Err(bad_field("target", "condition must not be empty".into()));
            }
            _ => {}
        }
        for key in self.data.keys() {
            let reserved_prefix = RESERVED_DATA_PREFIXES.iter().any(|prefix| key.starts_with(prefix));
            if RESERVED_DATA_KEYS.contains(&key.as_str()) || reserved_prefix {
                return Err(bad_field("data", format!("key `{key}` is reserved by FCM; rename it")));
            }
        }
        for (field, value) in [("apns", &self.apns), ("webpush", &self.webpush)] {
            if value.as_ref().is_some_and(|value| !value.is_object()) {
                return Err(bad_field(field, "must be a JSON object".into()));
            }
        }
        Ok(())
    }

    /// The request body of `messages:send`.
    pub fn to_request_body(&self) -> Value {
        let mut message = Map::new();
        let (target_key, target_value) = match &self.target {
            FcmTarget::Token(token) => ("token", token),
            FcmTarget::Topic(topic) => ("topic", topic),
            FcmTarget::Condition(condition) => ("condition", condition),
        };
        message.insert(target_key.into(), json!(target_value));

        if let Some(notification) = &self.notification {
            let mut fields = Map::new();
            insert_some(&mut fields, "title", &notification.title);
            insert_some(&mut fields, "body", &notification.body);
            insert_some(&mut fields, "image", &notification.image);
            message.insert("notification".into(), Value::Object(fields));
        }
        if !self.data.is_empty() {
            message.insert("data".into(), json!(self.data));
        }
        if let Some(android) = &self.android {
            message.insert("android".into(), android_json(android));
        }
        if let Some(apns) = &self.apns {
            message.insert("apns".into(), apns.clone());
        }
        if let Some(webpush) = &self.webpush {
            message.insert("webpush".into(), webpush.clone());
        }
        json!({ "message": message })
    }
}

fn android_json(android: &AndroidConfig) -> Value {
    let mut fields = Map::new();
    if let Some(priority) = android.priority {
        let name = match priority {
            AndroidPriority::Normal => "NORMAL",
            AndroidPriority::High => "HIGH",
        };
        fields.insert("priority".into(), json!(name));
    }
    if let Some(ttl) = android.ttl {
        fields.insert("ttl".into(), json!(duration_text(ttl)));
    }
    insert_some(&mut fields, "collapse_key", &android.collapse_key);
    if let Some(channel_id) = &android.channel_id {
        fields.insert("notification".into(), json!({ "channel_id": channel_id }));
    }
    Value::Object(fields)
}

/// A protobuf Duration in JSON: seconds with up to nine decimals and an `s`.
pub fn duration_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        return format!("{}s", duration.as_secs());
    }
    let fraction = format!("{:09}", duration.subsec_nanos());
    format!("{}.{}s", duration.as_secs(), fraction.trim_end_matches('0'))
}

fn insert_some(fields: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        fields.insert(key.into(), json!(value));
    }
}

fn is_topic_name(topic: &str) -> bool {
    !topic.is_empty()
        && topic
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.~%".contains(&byte))
}

fn bad_field(field: &'static str, rule: String) -> Invalid {
    Invalid::BadField { field, rule }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_body_holds_every_field() {
        let mut message = FcmMessage::new(FcmTarget::Token("tok-1".into()));
        message.notification = Some(FcmNotification {
            title: Some("Ana".into()),
            body: Some("liked your photo".into()),
            image: Some("https://img.example/1.png".into()),
        });
        message.data.insert("post_id".into(), "9".into());
        message.android = Some(AndroidConfig {
            priority: Some(AndroidPriority::High),
            ttl: Some(Duration::from_millis(3500)),
            collapse_key: Some("post-9".into()),
            channel_id: Some("likes".into()),
        });
        message.apns = Some(json!({"headers": {"apns-priority": "5"}}));
        message.webpush = Some(json!({"headers": {"TTL": "60"}}));

        assert_eq!(
            message.to_request_body(),
            json!({"message": {
                "token": "tok-1",
                "notification": {"title": "Ana", "body": "liked your photo", "image": "https://img.example/1.png"},
                "data": {"post_id": "9"},
                "android": {"priority": "HIGH", "ttl": "3.5s", "collapse_key": "post-9", "notification": {"channel_id": "likes"}},
                "apns": {"headers": {"apns-priority": "5"}},
                "webpush": {"headers": {"TTL": "60"}}
            }})
        );
    }

    #[test]
    fn target_needs_exactly_one_field() {
        let none = FcmTarget::from_fields(None, None, None);
        let two = FcmTarget::from_fields(Some("t".into()), Some("news".into()), None);
        let topic = FcmTarget::from_fields(None, Some("news".into()), None);

        assert!(matches!(none, Err(Invalid::BadField { field: "target", .. })));
        assert!(matches!(two, Err(Invalid::BadField { field: "target", .. })));
        assert_eq!(topic.unwrap(), FcmTarget::Topic("news".into()));
    }

    #[test]
    fn check_rejects_reserved_data_keys() {
        let mut message = FcmMessage::new(FcmTarget::Topic("news".into()));
        message.data.insert("google.sent_time".into(), "1".into());

        let error = message.check().unwrap_err();

        assert!(error.to_string().contains("google.sent_time"), "{error}");
    }

    #[test]
    fn derived_collapse_key_fills_only_an_android_section() {
        let event_id = Uuid::nil();
        let mut without_android = FcmMessage::new(FcmTarget::Token("t".into()));
        let mut with_android = without_android.clone();
        with_android.android = Some(AndroidConfig::default());

        without_android.fill_derived_collapse_key(event_id, 4);
        with_android.fill_derived_collapse_key(event_id, 4);

        assert_eq!(without_android.android, None);
        assert_eq!(
            with_android.android.unwrap().collapse_key,
            Some(derive_ids(event_id, 4).collapse_id)
        );
    }

    #[test]
    fn duration_text_matches_protobuf_json() {
        assert_eq!(duration_text(Duration::from_secs(60)), "60s");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration_text(Duration::from_nanos(1)), "0.000000001s");
    }
}
