//! What a send means for the caller, and the labels to count it by.
//!
//! The worker decides by matching [`PushOutcome`]: `Delivered` and `TokenGone`
//! finish the action (`TokenGone` also asks for a feedback record so that the
//! token is deleted), `Retryable` retries no earlier than `retry_after`, and
//! `Permanent` goes to the dead-letter topic.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::apns::ApnsReason;
use crate::fcm::FcmErrorCode;

/// The push service a send went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
}

impl Platform {
    /// The metric label value: `apns` or `fcm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Apns => "apns",
            Platform::Fcm => "fcm",
        }
    }
}

/// The result of one send, after the client's own retries of streams the
/// server never processed.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// The service accepted the notification.
    Delivered {
        /// The service the push went to.
        platform: Platform,
        /// The `apns-id` APNs echoed, or the message name FCM returned
        /// (`projects/{project}/messages/{id}`).
        id: String,
    },
    /// The same send may succeed later.
    Retryable {
        /// The service the push went to.
        platform: Platform,
        /// The cause of the failure.
        reason: Reason,
        /// The minimum wait before the next attempt, when the service gave one
        /// (`Retry-After`) or the protocol implies one (one minute for FCM's
        /// QUOTA_EXCEEDED).
        retry_after: Option<Duration>,
    },
    /// The same send will never succeed: dead-letter it.
    Permanent {
        /// The service the push went to.
        platform: Platform,
        /// The cause of the failure.
        reason: Reason,
    },
    /// The device token is no longer valid: the action is finished and the
    /// token should be deleted.
    TokenGone {
        /// The service the push went to.
        platform: Platform,
        /// The service's reason (`Unregistered`, `ExpiredToken`, `UNREGISTERED`).
        reason: Reason,
        /// When APNs last confirmed the token invalid (the `timestamp` of a 410
        /// response). A token registered again after this time is valid and
        /// must not be deleted. FCM gives no timestamp.
        timestamp: Option<SystemTime>,
    },
}

impl PushOutcome {
    /// The platform of the send.
    pub fn platform(&self) -> Platform {
        match self {
            PushOutcome::Delivered { platform, .. }
            | PushOutcome::Retryable { platform, .. }
            | PushOutcome::Permanent { platform, .. }
            | PushOutcome::TokenGone { platform, .. } => *platform,
        }
    }

    /// The metric label of the outcome class: `delivered`, `retryable`,
    /// `permanent` or `token_gone`.
    pub fn class(&self) -> &'static str {
        match self {
            PushOutcome::Delivered { .. } => "delivered",
            PushOutcome::Retryable { .. } => "retryable",
            PushOutcome::Permanent { .. } => "permanent",
            PushOutcome::TokenGone { .. } => "token_gone",
        }
    }

    /// The reason of a failed or token-gone send.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            PushOutcome::Delivered { .. } => None,
            PushOutcome::Retryable { reason, .. }
            | PushOutcome::Permanent { reason, .. }
            | PushOutcome::TokenGone { reason, .. } => Some(reason),
        }
    }

    /// The `(platform, outcome, reason)` metric labels. The reason is `none`
    /// for a delivered push.
    pub fn labels(&self) -> [Cow<'static, str>; 3] {
        let reason = self.reason().map_or(Cow::Borrowed("none"), Reason::label);
        [
            Cow::Borrowed(self.platform().as_str()),
            Cow::Borrowed(self.class()),
            reason,
        ]
    }
}

/// The cause of a send that did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// APNs returned an error status with this reason.
    Apns {
        /// The HTTP status.
        status: u16,
        /// The `reason` of the JSON body; unknown reasons are kept as text.
        reason: ApnsReason,
    },
    /// FCM returned an error.
    Fcm {
        /// The HTTP status.
        status: u16,
        /// The FcmError detail's `errorCode`, or the google.rpc status name
        /// when there is no detail; unknown codes are kept as text.
        code: FcmErrorCode,
        /// The `message` of the error body.
        message: String,
    },
    /// The client rejected the notification before sending it.
    Invalid(Invalid),
    /// The request did not complete.
    Transport(Transport),
    /// The OAuth2 token endpoint rejected the service account's assertion, or
    /// could not be reached.
    OAuth {
        /// The HTTP status, when the endpoint answered.
        status: Option<u16>,
        /// The endpoint's `error` and `error_description`, or the transport error.
        message: String,
    },
}

impl Reason {
    /// The metric label: the service's reason or code as sent, or the name of
    /// the client-side failure. Unknown reasons keep their text, limited to 64
    /// characters of `[A-Za-z0-9_]` so that a label stays a label.
    pub fn label(&self) -> Cow<'static, str> {
        match self {
            Reason::Apns { reason, .. } => sanitize(reason.as_str()),
            Reason::Fcm { code, .. } => sanitize(code.as_str()),
            Reason::Invalid(invalid) => Cow::Borrowed(invalid.label()),
            Reason::Transport(transport) => Cow::Borrowed(transport.label()),
            Reason::OAuth { status: Some(_), .. } => Cow::Borrowed("OAuthRejected"),
            Reason::OAuth { status: None, .. } => Cow::Borrowed("OAuthUnreachable"),
        }
    }
}

fn sanitize(text: &str) -> Cow<'static, str> {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        Cow::Borrowed("unknown")
    } else {
        Cow::Owned(cleaned)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Apns { status, reason } => write!(f, "APNs returned {status} {}", reason.as_str()),
            Reason::Fcm { status, code, message } => {
                write!(f, "FCM returned {status} {}: {message}", code.as_str())
            }
            Reason::Invalid(invalid) => write!(f, "{invalid}"),
            Reason::Transport(transport) => write!(f, "{transport}"),
            Reason::OAuth {
                status: Some(status),
                message,
            } => write!(f, "the OAuth2 token endpoint returned {status}: {message}"),
            Reason::OAuth { status: None, message } => {
                write!(f, "the OAuth2 token endpoint could not be reached: {message}")
            }
        }
    }
}

/// A rule the notification breaks, found before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// The payload is over the platform's limit.
    PayloadTooLarge {
        /// Size of the encoded payload, in bytes.
        size_bytes: usize,
        /// The limit for this kind of push, in bytes.
        limit_bytes: usize,
    },
    /// The device token is empty or not what the platform accepts.
    BadDeviceToken {
        /// The last characters of the token, enough to find it in logs.
        token_suffix: String,
    },
    /// A field has a value the platform rejects.
    BadField {
        /// The field name as in the notification type.
        field: &'static str,
        /// The rule and the fix.
        rule: String,
    },
}

impl Invalid {
    fn label(&self) -> &'static str {
        match self {
            Invalid::PayloadTooLarge { .. } => "PayloadTooLarge",
            Invalid::BadDeviceToken { .. } => "BadDeviceToken",
            Invalid::BadField { .. } => "InvalidNotification",
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::PayloadTooLarge { size_bytes, limit_bytes } => write!(
                f,
                "payload is {size_bytes} bytes, over the limit of {limit_bytes} bytes; shorten the alert or the custom data"
            ),
            Invalid::BadDeviceToken { token_suffix } => {
                write!(f, "device token ending in `{token_suffix}` is empty or malformed")
            }
            Invalid::BadField { field, rule } => write!(f, "field `{field}` is invalid: {rule}"),
        }
    }
}

/// A request that did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// No response within the configured request timeout.
    Timeout {
        /// The timeout, in milliseconds.
        timeout_ms: u64,
    },
    /// A connection could not be opened (TCP, TLS or the HTTP/2 handshake).
    ConnectFailed {
        /// The endpoint and the error.
        message: String,
    },
    /// The connection broke after the request was sent: the server may or may
    /// not have processed it.
    ConnectionLost {
        /// The error.
        message: String,
    },
    /// The server announced (GOAWAY or REFUSED_STREAM) that it did not
    /// process the request, on every attempt the client made.
    Unprocessed {
        /// Number of attempts.
        attempts: u32,
    },
}

impl Transport {
    fn label(&self) -> &'static str {
        match self {
            Transport::Timeout { .. } => "Timeout",
            Transport::ConnectFailed { .. } => "ConnectFailed",
            Transport::ConnectionLost { .. } => "ConnectionLost",
            Transport::Unprocessed { .. } => "Unprocessed",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Timeout { timeout_ms } => write!(f, "no response within {timeout_ms} ms"),
            Transport::ConnectFailed { message } => write!(f, "cannot connect: {message}"),
            Transport::ConnectionLost { message } => write!(f, "connection lost: {message}"),
            Transport::Unprocessed { attempts } => {
                write!(
                    f,
                    "the server did not process the request on any of {attempts} attempts"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_unknown_reasons_as_text() {
        let outcome = PushOutcome::Permanent {
            platform: Platform::Apns,
            reason: Reason::Apns {
                status: 400,
                reason: ApnsReason::from_text("SomethingNew-2027"),
            },
        };

        let [platform, class, reason] = outcome.labels();

        assert_eq!(platform, "apns");
        assert_eq!(class, "permanent");
        assert_eq!(reason, "SomethingNew_2027");
    }

    #[test]
    fn labels_of_delivered_have_no_reason() {
        let outcome = PushOutcome::Delivered {
            platform: Platform::Fcm,
            id: "projects/p/messages/1".into(),
        };

        assert_eq!(outcome.labels(), ["fcm", "delivered", "none"]);
    }
}
