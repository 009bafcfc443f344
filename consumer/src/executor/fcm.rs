//! The FCM executor: converts an `FcmPush` action into the client's message,
//! sends it and settles the outcome.

use std::sync::Arc;
use std::time::Duration;

use offload_push::fcm::{AndroidConfig, AndroidPriority, FcmNotification, FcmTarget};
use offload_push::outcome::Invalid;
use offload_push::{FcmClient, FcmMessage, Platform};
use offload_schemas::{DispatchEvent, FcmAndroidConfig, FcmPush};
use serde_json::Value;
use uuid::Uuid;

use super::push::{describe_token, Outcomes, PushError, Recipient};

/// Sends the FCM push actions of events.
pub struct FcmExecutor {
    client: FcmClient,
    outcomes: Arc<Outcomes>,
}

impl FcmExecutor {
    pub(crate) fn new(client: FcmClient, outcomes: Arc<Outcomes>) -> FcmExecutor {
        FcmExecutor { client, outcomes }
    }

    /// Sends `push`, the action at `index` of `event`.
    pub async fn execute(&self, event: &DispatchEvent, index: usize, push: &FcmPush) -> Result<(), PushError> {
        let message = message(push, event.event_id, index)?;

        let outcome = self.client.send(&message).await;

        let recipient = match &message.target {
            FcmTarget::Token(token) => Recipient {
                token: Some(token),
                target: describe_token(token),
            },
            FcmTarget::Topic(topic) => Recipient {
                token: None,
                target: format!("topic `{topic}`"),
            },
            FcmTarget::Condition(condition) => Recipient {
                token: None,
                target: format!("condition `{condition}`"),
            },
        };
        self.outcomes.settle(outcome, event.event_id, recipient).await
    }
}

/// Converts `push`, the action at `index` of event `event_id`, into the
/// client's message. When the push has an `android` section without a
/// collapse key, the key is derived from the event id and `index`, so a
/// replay replaces the first message while both are undelivered.
///
/// An Android priority symbol from a newer schema (`Unknown`) sends no
/// priority, which FCM treats as `NORMAL`.
pub fn message(push: &FcmPush, event_id: Uuid, index: usize) -> Result<FcmMessage, PushError> {
    let target = FcmTarget::from_fields(push.token.clone(), push.topic.clone(), push.condition.clone())
        .map_err(from_client_check)?;

    let mut message = FcmMessage::new(target);
    message.notification = push.notification.as_ref().map(|notification| FcmNotification {
        title: notification.title.clone(),
        body: notification.body.clone(),
        image: notification.image.clone(),
    });
    message.data = push.data.clone();
    message.android = push.android.as_ref().map(android).transpose()?;
    message.apns = push
        .apns_override_json
        .as_deref()
        .map(|text| json_object("apns_override_json", text))
        .transpose()?;
    message.webpush = push
        .webpush_override_json
        .as_deref()
        .map(|text| json_object("webpush_override_json", text))
        .transpose()?;
    message.fill_derived_collapse_key(event_id, index);
    Ok(message)
}

/// Names the fields of `push` whose enum symbol came from a newer schema
/// and is replaced by a default, for `offload_enum_defaults_total`.
pub fn defaulted_enum_fields(push: &FcmPush) -> Vec<&'static str> {
    let unknown_priority = push
        .android
        .as_ref()
        .is_some_and(|android| android.priority == Some(offload_schemas::AndroidPriority::Unknown));
    if unknown_priority {
        vec!["fcm_push.android.priority"]
    } else {
        Vec::new()
    }
}

fn android(android: &FcmAndroidConfig) -> Result<AndroidConfig, PushError> {
    let priority = android.priority.and_then(|priority| match priority {
        offload_schemas::AndroidPriority::Normal => Some(AndroidPriority::Normal),
        offload_schemas::AndroidPriority::High => Some(AndroidPriority::High),
        offload_schemas::AndroidPriority::Unknown => None,
    });
    let ttl = match android.ttl_secs {
        Some(seconds) => Some(Duration::from_secs(u64::try_from(seconds).map_err(|_| {
            invalid(
                "android.ttl_secs",
                format!("{seconds} is negative; give the seconds FCM keeps the message for an offline device"),
            )
        })?)),
        None => None,
    };
    Ok(AndroidConfig {
        priority,
        ttl,
        collapse_key: android.collapse_key.clone(),
        channel_id: android.channel_id.clone(),
    })
}

fn json_object(field: &'static str, text: &str) -> Result<Value, PushError> {
    match serde_json::from_str::<Value>(text) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => Err(invalid(field, "is JSON but not an object; give a JSON object".into())),
        Err(error) => Err(invalid(field, format!("is not valid JSON: {error}"))),
    }
}

fn from_client_check(invalid_field: Invalid) -> PushError {
    match invalid_field {
        Invalid::BadField { field, rule } => invalid(field, rule),
        other => invalid("target", other.to_string()),
    }
}

fn invalid(field: &'static str, reason: String) -> PushError {
    PushError::Invalid {
        platform: Platform::Fcm,
        field,
        reason,
    }
}

#[cfg(test)]
mod tests;
