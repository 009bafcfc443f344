//! An APNs notification: the request headers and the JSON payload, with the
//! checks that can be made before sending.
//!
//! Header names, push types, priorities and size limits follow "Sending
//! notification requests to APNs" and "Generating a remote notification"
//! (Apple Developer documentation, read December 2026).

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ids::derive_ids;
use crate::outcome::Invalid;

/// Payload limit of every push type but VoIP, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// Payload limit of VoIP pushes, in bytes.
pub const MAX_VOIP_PAYLOAD_BYTES: usize = 5120;

/// Limit of `apns-collapse-id`, in bytes.
pub const MAX_COLLAPSE_ID_BYTES: usize = 64;

/// One notification to one device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApnsNotification {
    /// The device token, hexadecimal as the app reported it.
    pub device_token: String,
    /// `apns-topic`: the bundle id, with the suffix some push types require
    /// (`.voip`, `.complication`, `.push-type.liveactivity`, …).
    pub topic: String,
    /// `apns-push-type`.
    pub push_type: PushType,
    /// `apns-priority`; APNs assumes 10 when absent.
    pub priority: Option<Priority>,
    /// `apns-expiration`, in seconds since the UNIX epoch; 0 asks APNs not to
    /// store the notification if the device is offline.
    pub expiration_unix_secs: Option<u64>,
    /// `apns-collapse-id`: notifications with the same id replace each other.
    pub collapse_id: Option<String>,
    /// `apns-id`: APNs echoes it and generates one when absent.
    pub apns_id: Option<Uuid>,
    /// The visible alert.
    pub alert: Option<Alert>,
    /// The app icon's badge number; 0 removes the badge.
    pub badge: Option<u32>,
    /// A sound file name in the app bundle, or `default`.
    pub sound: Option<String>,
    /// Wakes the app in the background (`content-available: 1`).
    pub content_available: bool,
    /// Passes the notification through the app's service extension
    /// (`mutable-content: 1`).
    pub mutable_content: bool,
    /// Groups notifications in Notification Center.
    pub thread_id: Option<String>,
    /// The notification category, for actions.
    pub category: Option<String>,
    /// The urgency with which the system shows the notification.
    pub interruption_level: Option<InterruptionLevel>,
    /// App-specific keys placed beside `aps` at the top level of the payload.
    pub custom_data: Map<String, Value>,
}

/// The alert of a notification. Localization keys name strings of the app's
/// `Localizable.strings`, with `*_args` substituted into them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Alert {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Body text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A launch image file name in the app bundle, shown instead of the app's
    /// usual launch screen when the user opens the notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_image: Option<String>,
    /// Localization key of the title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_loc_key: Option<String>,
    /// Arguments of the title's localized string.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub title_loc_args: Vec<String>,
    /// Localization key of the subtitle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle_loc_key: Option<String>,
    /// Arguments of the subtitle's localized string.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtitle_loc_args: Vec<String>,
    /// Localization key of the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loc_key: Option<String>,
    /// Arguments of the body's localized string.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loc_args: Vec<String>,
}

/// `apns-push-type`: every value Apple documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PushType {
    /// A visible alert, sound or badge.
    #[default]
    Alert,
    /// Content for the app in the background; priority 5 or 1.
    Background,
    /// A Control Center or Lock Screen control update.
    Controls,
    /// A location query to a Location Push Service Extension.
    Location,
    /// An incoming VoIP call, through PushKit.
    Voip,
    /// A watchOS complication update.
    Complication,
    /// A File Provider extension signal.
    Fileprovider,
    /// A Live Activity update.
    Liveactivity,
    /// A mobile device management command.
    Mdm,
    /// A Push to Talk update.
    Pushtotalk,
    /// A widget reload.
    Widgets,
}

impl PushType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            PushType::Alert => "alert",
            PushType::Background => "background",
            PushType::Controls => "controls",
            PushType::Location => "location",
            PushType::Voip => "voip",
            PushType::Complication => "complication",
            PushType::Fileprovider => "fileprovider",
            PushType::Liveactivity => "liveactivity",
            PushType::Mdm => "mdm",
            PushType::Pushtotalk => "pushtotalk",
            PushType::Widgets => "widgets",
        }
    }

    /// Parses a header value.
    pub fn from_name(name: &str) -> Option<PushType> {
        let all = [
            PushType::Alert,
            PushType::Background,
            PushType::Controls,
            PushType::Location,
            PushType::Voip,
            PushType::Complication,
            PushType::Fileprovider,
            PushType::Liveactivity,
            PushType::Mdm,
            PushType::Pushtotalk,
            PushType::Widgets,
        ];
        all.into_iter().find(|push_type| push_type.as_str() == name)
    }

    /// The payload limit of this push type, in bytes.
    pub fn max_payload_bytes(self) -> usize {
        match self {
            PushType::Voip => MAX_VOIP_PAYLOAD_BYTES,
            _ => MAX_PAYLOAD_BYTES,
        }
    }
}

/// `apns-priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// 10: deliver immediately.
    Immediate,
    /// 5: deliver considering the device's power.
    PowerConsidered,
    /// 1: prioritize the device's power over all else.
    PowerPrioritized,
}

impl Priority {
    /// The header value.
    pub fn value(self) -> u8 {
        match self {
            Priority::Immediate => 10,
            Priority::PowerConsidered => 5,
            Priority::PowerPrioritized => 1,
        }
    }

    /// Parses a header value (10, 5 or 1).
    pub fn from_value(value: u8) -> Option<Priority> {
        match value {
            10 => Some(Priority::Immediate),
            5 => Some(Priority::PowerConsidered),
            1 => Some(Priority::PowerPrioritized),
            _ => None,
        }
    }
}

/// `aps.interruption-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterruptionLevel {
    /// Added to the list without lighting the screen or playing a sound.
    Passive,
    /// Shown immediately (the default).
    Active,
    /// Shown immediately, breaking through Focus.
    TimeSensitive,
    /// Shown immediately with sound, even when muted; needs an entitlement.
    Critical,
}

/// The `aps` dictionary.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Aps<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<&'a Alert>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_available: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mutable_content: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interruption_level: Option<InterruptionLevel>,
}

impl ApnsNotification {
    /// Sets `apns-id` and `apns-collapse-id` derived from the event id and the
    /// action's index where the notification has none.
    pub fn fill_derived_ids(&mut self, event_id: Uuid, index: usize) {
        let derived = derive_ids(event_id, index);
        self.apns_id.get_or_insert(derived.apns_id);
        self.collapse_id.get_or_insert(derived.collapse_id);
    }

    /// Encodes the JSON payload and checks it against the push type's limit.
    pub fn payload(&self) -> Result<Vec<u8>, Invalid> {
        let aps = Aps {
            alert: self.alert.as_ref(),
            badge: self.badge,
            sound: self.sound.as_deref(),
            content_available: self.content_available.then_some(1),
            mutable_content: self.mutable_content.then_some(1),
            thread_id: self.thread_id.as_deref(),
            category: self.category.as_deref(),
            interruption_level: self.interruption_level,
        };
        let mut root = self.custom_data.clone();
        let aps = serde_json::to_value(aps).expect("the aps dictionary serializes");
        root.insert("aps".into(), aps);
        let payload = serde_json::to_vec(&root).expect("a JSON map serializes");

        let limit_bytes = self.push_type.max_payload_bytes();
        if payload.len() > limit_bytes {
            return Err(Invalid::PayloadTooLarge {
                size_bytes: payload.len(),
                limit_bytes,
            });
        }
        Ok(payload)
    }

    /// Checks what APNs would reject for certain, before anything is sent.
    pub fn check(&self) -> Result<(), Invalid> {
        let token = &self.device_token;
        if token.is_empty() || !token.len().is_multiple_of(2) || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(Invalid::BadDeviceToken {
                token_suffix: token_suffix(token),
            });
        }
        if self.topic.is_empty() {
            return Err(bad_field("topic", "must not be empty; use the app's bundle id"));
        }
        if self.custom_data.contains_key("aps") {
            return Err(bad_field(
                "custom_data",
                "must not contain the key `aps`, which APNs reserves",
            ));
        }
        if let Some(collapse_id) = &self.collapse_id {
            if collapse_id.len() > MAX_COLLAPSE_ID_BYTES {
                return Err(bad_field(
                    "collapse_id",
                    &format!(
                        "is {} bytes, over APNs' limit of {MAX_COLLAPSE_ID_BYTES}",
                        collapse_id.len()
                    ),
                ));
            }
        }
        if self.push_type == PushType::Background && self.priority == Some(Priority::Immediate) {
            return Err(bad_field("priority", "background pushes take priority 5 or 1, not 10"));
        }
        Ok(())
    }

    /// The request headers besides `authorization`, as (name, value) pairs.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("apns-topic", self.topic.clone()),
            ("apns-push-type", self.push_type.as_str().to_string()),
        ];
        if let Some(priority) = self.priority {
            headers.push(("apns-priority", priority.value().to_string()));
        }
        if let Some(expiration) = self.expiration_unix_secs {
            headers.push(("apns-expiration", expiration.to_string()));
        }
        if let Some(collapse_id) = &self.collapse_id {
            headers.push(("apns-collapse-id", collapse_id.clone()));
        }
        if let Some(apns_id) = self.apns_id {
            headers.push(("apns-id", apns_id.hyphenated().to_string()));
        }
        headers
    }
}

/// The last six characters of a token, for logs and errors.
pub(crate) fn token_suffix(token: &str) -> String {
    let start = token.char_indices().rev().nth(5).map_or(0, |(index, _)| index);
    token[start..].to_string()
}

fn bad_field(field: &'static str, rule: &str) -> Invalid {
    Invalid::BadField {
        field,
        rule: rule.to_string(),
    }
}

#[cfg(test)]
mod tests;
