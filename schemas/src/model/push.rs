//! Push notifications: APNs and FCM.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::avro_enum;

/// One notification to one device through the APNs provider API.
///
/// The fields map to the request headers and to the `aps` dictionary of the
/// payload as Apple's "Sending notification requests to APNs" and "Generating
/// a remote notification" documentation define them.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ApnsPush {
    /// The device token, as hex.
    pub device_token: String,
    /// `apns-topic`: the app's bundle id, with a suffix where the push type needs one.
    pub topic: String,
    /// `apns-push-type`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub push_type: ApnsPushType,
    /// `apns-priority`; `None` sends no header, which APNs treats as 10.
    pub priority: Option<ApnsPriority>,
    /// `apns-expiration` in seconds since the Unix epoch; 0 means try once.
    pub expiration_epoch_secs: Option<i64>,
    /// `apns-collapse-id`, at most 64 bytes.
    pub collapse_id: Option<String>,
    /// `apns-id`; `None` lets APNs choose one.
    pub apns_id: Option<Uuid>,
    /// `aps.alert`.
    pub alert: Option<ApnsAlert>,
    /// `aps.badge`.
    pub badge: Option<i32>,
    /// `aps.sound`.
    pub sound: Option<String>,
    /// `aps.content-available`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub content_available: bool,
    /// `aps.mutable-content`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub mutable_content: bool,
    /// `aps.thread-id`.
    pub thread_id: Option<String>,
    /// `aps.category`.
    pub category: Option<String>,
    /// `aps.interruption-level`.
    pub interruption_level: Option<ApnsInterruptionLevel>,
    /// A JSON object whose keys are added to the payload beside `aps`.
    pub custom_data_json: Option<String>,
}

/// The `aps.alert` dictionary.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ApnsAlert {
    /// `title`.
    pub title: Option<String>,
    /// `subtitle`.
    pub subtitle: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `launch-image`.
    pub launch_image: Option<String>,
    /// `title-loc-key`.
    pub title_loc_key: Option<String>,
    /// `title-loc-args`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub title_loc_args: Vec<String>,
    /// `subtitle-loc-key`.
    pub subtitle_loc_key: Option<String>,
    /// `subtitle-loc-args`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub subtitle_loc_args: Vec<String>,
    /// `loc-key`.
    pub loc_key: Option<String>,
    /// `loc-args`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub loc_args: Vec<String>,
}

avro_enum! {
    /// `apns-push-type` values; the default is `alert`.
    #[derive(Default)]
    ApnsPushType {
        /// `alert`
        #[default]
        Alert = "ALERT",
        /// `background`
        Background = "BACKGROUND",
        /// `controls`
        Controls = "CONTROLS",
        /// `location`
        Location = "LOCATION",
        /// `voip`
        Voip = "VOIP",
        /// `complication`
        Complication = "COMPLICATION",
        /// `fileprovider`
        FileProvider = "FILEPROVIDER",
        /// `liveactivity`
        LiveActivity = "LIVEACTIVITY",
        /// `mdm`
        Mdm = "MDM",
        /// `pushtotalk`
        PushToTalk = "PUSHTOTALK",
        /// `widgets`
        Widgets = "WIDGETS",
    }
}

impl ApnsPushType {
    /// Returns the value of the `apns-push-type` header.
    pub fn header_value(self) -> &'static str {
        match self {
            ApnsPushType::Unknown => "unknown",
            ApnsPushType::Alert => "alert",
            ApnsPushType::Background => "background",
            ApnsPushType::Controls => "controls",
            ApnsPushType::Location => "location",
            ApnsPushType::Voip => "voip",
            ApnsPushType::Complication => "complication",
            ApnsPushType::FileProvider => "fileprovider",
            ApnsPushType::LiveActivity => "liveactivity",
            ApnsPushType::Mdm => "mdm",
            ApnsPushType::PushToTalk => "pushtotalk",
            ApnsPushType::Widgets => "widgets",
        }
    }
}

avro_enum! {
    /// `apns-priority` values.
    ApnsPriority {
        /// 10: send at once.
        Immediate = "IMMEDIATE",
        /// 5: send based on the device's power considerations.
        ConsiderPower = "CONSIDER_POWER",
        /// 1: prioritise the device's power over delivery.
        PrioritizePower = "PRIORITIZE_POWER",
    }
}

impl ApnsPriority {
    /// Returns the header value, or `None` for [`ApnsPriority::Unknown`].
    pub fn header_value(self) -> Option<u8> {
        match self {
            ApnsPriority::Unknown => None,
            ApnsPriority::Immediate => Some(10),
            ApnsPriority::ConsiderPower => Some(5),
            ApnsPriority::PrioritizePower => Some(1),
        }
    }
}

avro_enum! {
    /// `aps.interruption-level` values.
    ApnsInterruptionLevel {
        /// `passive`
        Passive = "PASSIVE",
        /// `active`
        Active = "ACTIVE",
        /// `time-sensitive`
        TimeSensitive = "TIME_SENSITIVE",
        /// `critical`
        Critical = "CRITICAL",
    }
}

impl ApnsInterruptionLevel {
    /// Returns the payload value, or `None` for [`ApnsInterruptionLevel::Unknown`].
    pub fn payload_value(self) -> Option<&'static str> {
        match self {
            ApnsInterruptionLevel::Unknown => None,
            ApnsInterruptionLevel::Passive => Some("passive"),
            ApnsInterruptionLevel::Active => Some("active"),
            ApnsInterruptionLevel::TimeSensitive => Some("time-sensitive"),
            ApnsInterruptionLevel::Critical => Some("critical"),
        }
    }
}

/// One message through the FCM HTTP v1 API. Exactly one of `token`,
/// `topic` and `condition` must be set.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct FcmPush {
    /// `message.token`.
    pub token: Option<String>,
    /// `message.topic`, without the `/topics/` prefix.
    pub topic: Option<String>,
    /// `message.condition`.
    pub condition: Option<String>,
    /// `message.notification`.
    pub notification: Option<FcmNotification>,
    /// `message.data`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub data: BTreeMap<String, String>,
    /// `message.android`.
    pub android: Option<FcmAndroidConfig>,
    /// `message.apns`, a JSON object sent unchanged.
    pub apns_override_json: Option<String>,
    /// `message.webpush`, a JSON object sent unchanged.
    pub webpush_override_json: Option<String>,
}

/// `message.notification`.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct FcmNotification {
    /// `title`.
    pub title: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `image`: URL of an image.
    pub image: Option<String>,
}

/// `message.android`.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct FcmAndroidConfig {
    /// `android.priority`.
    pub priority: Option<AndroidPriority>,
    /// `android.ttl` in seconds.
    pub ttl_secs: Option<i64>,
    /// `android.collapse_key`.
    pub collapse_key: Option<String>,
    /// `android.notification.channel_id`.
    pub channel_id: Option<String>,
}

avro_enum! {
    /// `android.priority` values.
    AndroidPriority {
        /// `NORMAL`
        Normal = "NORMAL",
        /// `HIGH`
        High = "HIGH",
    }
}
