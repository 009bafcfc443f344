//! The record of the feedback topic: device tokens that a provider rejected.

use uuid::Uuid;

use super::avro_enum;

/// A device token that a push provider reported as no longer valid.
#[derive(Debug, Clone, PartialEq)]
pub struct PushFeedback {
    /// The provider that reported it.
    pub platform: PushPlatform,
    /// The device or registration token.
    pub token: String,
    /// Why the token is invalid.
    pub reason: FeedbackReason,
    /// The provider's own reason text.
    pub provider_reason: String,
    /// When the provider says the token stopped being valid, in milliseconds since the Unix epoch.
    pub provider_timestamp_ms: Option<i64>,
    /// The event whose push revealed the invalid token.
    pub event_id: Uuid,
    /// When the worker received the response, in microseconds since the Unix epoch.
    pub reported_at_us: i64,
}

avro_enum! {
    /// Push providers.
    PushPlatform {
        /// Apple Push Notification service.
        Apns = "APNS",
        /// Firebase Cloud Messaging.
        Fcm = "FCM",
    }
}

avro_enum! {
    /// Why a provider rejected a token for good.
    FeedbackReason {
        /// The app was uninstalled or the token expired (APNs 410, FCM UNREGISTERED).
        Unregistered = "UNREGISTERED",
        /// APNs BadDeviceToken.
        BadDeviceToken = "BAD_DEVICE_TOKEN",
        /// APNs DeviceTokenNotForTopic.
        DeviceTokenNotForTopic = "DEVICE_TOKEN_NOT_FOR_TOPIC",
        /// FCM SENDER_ID_MISMATCH.
        SenderIdMismatch = "SENDER_ID_MISMATCH",
    }
}
