//! The APNs executor: converts an `ApnsPush` action into the client's
//! notification, sends it and settles the outcome.

use std::sync::Arc;

use offload_push::apns::{Alert, InterruptionLevel, Priority, PushType};
use offload_push::{ApnsClient, ApnsNotification, Platform};
use offload_schemas::{ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, DispatchEvent};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::push::{describe_token, Outcomes, PushError, Recipient};

/// Sends the APNs push actions of events.
pub struct ApnsExecutor {
    client: ApnsClient,
    outcomes: Arc<Outcomes>,
}

impl ApnsExecutor {
    pub(crate) fn new(client: ApnsClient, outcomes: Arc<Outcomes>) -> ApnsExecutor {
        ApnsExecutor { client, outcomes }
    }

    /// Sends `push`, the action at `index` of `event`.
    pub async fn execute(&self, event: &DispatchEvent, index: usize, push: &ApnsPush) -> Result<(), PushError> {
        let notification = notification(push, event.event_id, index)?;

        let outcome = self.client.send(&notification).await;

        let recipient = Recipient {
            token: Some(&notification.device_token),
            target: describe_token(&notification.device_token),
        };
        self.outcomes.settle(outcome, event.event_id, recipient).await
    }
}

/// Converts `push`, the action at `index` of event `event_id`, into the
/// client's notification. Where the event gives no `apns-id` or collapse id,
/// both are derived from the event id and `index`, so a replay carries the
/// same ids and replaces the first notification on the device.
///
/// Enum symbols from a newer schema (`Unknown`) become defaults. The push
/// type becomes `alert`. The priority header is left out, so APNs uses 10,
/// except for a background push, which gets 5 because APNs rejects 10 there.
/// The interruption level is left out, so the device shows the notification
/// as `active`.
pub fn notification(push: &ApnsPush, event_id: Uuid, index: usize) -> Result<ApnsNotification, PushError> {
    let push_type = push_type(push.push_type);
    let priority = push.priority.and_then(|priority| match priority {
        ApnsPriority::Immediate => Some(Priority::Immediate),
        ApnsPriority::ConsiderPower => Some(Priority::PowerConsidered),
        ApnsPriority::PrioritizePower => Some(Priority::PowerPrioritized),
        ApnsPriority::Unknown if push_type == PushType::Background => Some(Priority::PowerConsidered),
        ApnsPriority::Unknown => None,
    });
    let expiration_unix_secs = match push.expiration_epoch_secs {
        Some(seconds) => Some(u64::try_from(seconds).map_err(|_| {
            invalid(
                "expiration_epoch_secs",
                format!("{seconds} is negative; give seconds since the Unix epoch, or 0 to deliver only once"),
            )
        })?),
        None => None,
    };
    let badge = match push.badge {
        Some(badge) => Some(
            u32::try_from(badge)
                .map_err(|_| invalid("badge", format!("{badge} is negative; give 0 to remove the badge")))?,
        ),
        None => None,
    };
    let custom_data = match &push.custom_data_json {
        Some(text) => json_object(text)?,
        None => Map::new(),
    };

    let mut notification = ApnsNotification {
        device_token: push.device_token.clone(),
        topic: push.topic.clone(),
        push_type,
        priority,
        expiration_unix_secs,
        collapse_id: push.collapse_id.clone(),
        apns_id: push.apns_id,
        alert: push.alert.as_ref().map(alert),
        badge,
        sound: push.sound.clone(),
        content_available: push.content_available,
        mutable_content: push.mutable_content,
        thread_id: push.thread_id.clone(),
        category: push.category.clone(),
        interruption_level: push.interruption_level.and_then(interruption_level),
        custom_data,
    };
    notification.fill_derived_ids(event_id, index);
    Ok(notification)
}

/// Names the fields of `push` whose enum symbol came from a newer schema
/// and is replaced by a default, for `offload_enum_defaults_total`.
pub fn defaulted_enum_fields(push: &ApnsPush) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if push.push_type == ApnsPushType::Unknown {
        fields.push("apns_push.push_type");
    }
    if push.priority == Some(ApnsPriority::Unknown) {
        fields.push("apns_push.priority");
    }
    if push.interruption_level == Some(ApnsInterruptionLevel::Unknown) {
        fields.push("apns_push.interruption_level");
    }
    fields
}

fn push_type(push_type: ApnsPushType) -> PushType {
    match push_type {
        ApnsPushType::Alert | ApnsPushType::Unknown => PushType::Alert,
        ApnsPushType::Background => PushType::Background,
        ApnsPushType::Controls => PushType::Controls,
        ApnsPushType::Location => PushType::Location,
        ApnsPushType::Voip => PushType::Voip,
        ApnsPushType::Complication => PushType::Complication,
        ApnsPushType::FileProvider => PushType::Fileprovider,
        ApnsPushType::LiveActivity => PushType::Liveactivity,
        ApnsPushType::Mdm => PushType::Mdm,
        ApnsPushType::PushToTalk => PushType::Pushtotalk,
        ApnsPushType::Widgets => PushType::Widgets,
    }
}

fn interruption_level(level: ApnsInterruptionLevel) -> Option<InterruptionLevel> {
    match level {
        ApnsInterruptionLevel::Passive => Some(InterruptionLevel::Passive),
        ApnsInterruptionLevel::Active => Some(InterruptionLevel::Active),
        ApnsInterruptionLevel::TimeSensitive => Some(InterruptionLevel::TimeSensitive),
        ApnsInterruptionLevel::Critical => Some(InterruptionLevel::Critical),
        ApnsInterruptionLevel::Unknown => None,
    }
}

fn alert(alert: &ApnsAlert) -> Alert {
    Alert {
        title: alert.title.clone(),
        subtitle: alert.subtitle.clone(),
        body: alert.body.clone(),
        launch_image: alert.launch_image.clone(),
        title_loc_key: alert.title_loc_key.clone(),
        title_loc_args: alert.title_loc_args.clone(),
        subtitle_loc_key: alert.subtitle_loc_key.clone(),
        subtitle_loc_args: alert.subtitle_loc_args.clone(),
        loc_key: alert.loc_key.clone(),
        loc_args: alert.loc_args.clone(),
    }
}

fn json_object(text: &str) -> Result<Map<String, Value>, PushError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(invalid(
            "custom_data_json",
            "is JSON but not an object; give an object whose keys go beside `aps`".into(),
        )),
        Err(error) => Err(invalid("custom_data_json", format!("is not valid JSON: {error}"))),
    }
}

fn invalid(field: &'static str, reason: String) -> PushError {
    PushError::Invalid {
        platform: Platform::Apns,
        field,
        reason,
    }
}

#[cfg(test)]
mod tests;
