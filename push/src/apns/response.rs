//! APNs error responses: the documented reasons and what each means for the caller.
//!
//! Status codes and reasons follow "Handling notification responses from
//! APNs" (Apple Developer documentation, read December 2026). A 410 body also
//! carries `timestamp`, in milliseconds since the UNIX epoch, when APNs last
//! confirmed the token invalid for the topic.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::outcome::{Platform, PushOutcome, Reason};

macro_rules! apns_reasons {
    ($($variant:ident),* $(,)?) => {
        /// The `reason` of an APNs error body. Reasons this client does not
        /// know are kept as text in [`ApnsReason::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ApnsReason {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant,
            )*
            /// A reason not in Apple's list when this client was written.
            Other(String),
        }

        impl ApnsReason {
            /// The reason as APNs writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ApnsReason::$variant => stringify!($variant),)*
                    ApnsReason::Other(text) => text,
                }
            }

            /// Parses a reason, keeping unknown text.
            pub fn from_text(text: &str) -> ApnsReason {
                match text {
                    $(stringify!($variant) => ApnsReason::$variant,)*
                    other => ApnsReason::Other(other.to_string()),
                }
            }
        }
    };
}

apns_reasons!(
    BadCollapseId,
    BadDeviceToken,
    BadExpirationDate,
    BadMessageId,
    BadPriority,
    BadTopic,
    DeviceTokenNotForTopic,
    DuplicateHeaders,
    IdleTimeout,
    InvalidPushType,
    MissingDeviceToken,
    MissingTopic,
    PayloadEmpty,
    TopicDisallowed,
    BadCertificate,
    BadCertificateEnvironment,
    ExpiredProviderToken,
    Forbidden,
    InvalidProviderToken,
    MissingProviderToken,
    BadPath,
    MethodNotAllowed,
    ExpiredToken,
    Unregistered,
    PayloadTooLarge,
    TooManyProviderTokenUpdates,
    TooManyRequests,
    InternalServerError,
    ServiceUnavailable,
    Shutdown,
);

/// The JSON body of an error response.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    /// The reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// For 410: milliseconds since the UNIX epoch.
    #[serde(default)]
    pub timestamp: Option<u64>,
}

/// What the client should do besides returning the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// Nothing.
    None,
    /// Replace the provider token and the connection (ExpiredProviderToken).
    ReplaceToken,
    /// Close the connection: the server is going away (Shutdown, IdleTimeout).
    CloseConnection,
}

/// Classifies a response that is not 200.
pub fn classify_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> (PushOutcome, FollowUp) {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let reason = parsed
        .reason
        .as_deref()
        .map(ApnsReason::from_text)
        .unwrap_or_else(|| ApnsReason::Other(format!("HTTP {status}")));
    let follow_up = match reason {
        ApnsReason::ExpiredProviderToken => FollowUp::ReplaceToken,
        ApnsReason::Shutdown | ApnsReason::IdleTimeout => FollowUp::CloseConnection,
        _ => FollowUp::None,
    };
    let class = class_of(status, &reason);
    let platform = Platform::Apns;
    let reason = Reason::Apns { status, reason };

    let outcome = match class {
        Class::TokenGone => PushOutcome::TokenGone {
            platform,
            reason,
            timestamp: parsed
                .timestamp
                .map(|millis| SystemTime::UNIX_EPOCH + Duration::from_millis(millis)),
        },
        Class::Retryable => PushOutcome::Retryable {
            platform,
            reason,
            retry_after,
        },
        Class::Permanent => PushOutcome::Permanent { platform, reason },
    };
    (outcome, follow_up)
}

enum Class {
    TokenGone,
    Retryable,
    Permanent,
}

fn class_of(status: u16, reason: &ApnsReason) -> Class {
    match (status, reason) {
        (410, _) => Class::TokenGone,
        // A new token fixes it; the client replaces the token first.
        (_, ApnsReason::ExpiredProviderToken) => Class::Retryable,
        // The connection idled out or the server is shutting down: a new
        // connection fixes it.
        (_, ApnsReason::IdleTimeout | ApnsReason::Shutdown) => Class::Retryable,
        (_, ApnsReason::TooManyRequests | ApnsReason::TooManyProviderTokenUpdates) => Class::Retryable,
        (429, _) => Class::Retryable,
        (500..=599, _) => Class::Retryable,
        // Everything else (400, 403, 404, 405, 413 and unknown 4xx) needs a
        // fix of the request or the credentials, not a retry.
        _ => Class::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unregistered_410_keeps_apns_timestamp() {
        let (outcome, _) = classify_error(410, br#"{"reason":"Unregistered","timestamp":1700000000123}"#, None);

        assert_eq!(
            outcome,
            PushOutcome::TokenGone {
                platform: Platform::Apns,
                reason: Reason::Apns {
                    status: 410,
                    reason: ApnsReason::Unregistered
                },
                timestamp: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            }
        );
    }

    #[test]
    fn expired_provider_token_is_retryable_after_replacing_the_token() {
        let (outcome, follow_up) = classify_error(403, br#"{"reason":"ExpiredProviderToken"}"#, None);

        assert_eq!(outcome.class(), "retryable");
        assert_eq!(follow_up, FollowUp::ReplaceToken);
    }

    #[test]
    fn request_and_credential_errors_are_permanent() {
        for (status, reason) in [
            (400, "BadDeviceToken"),
            (400, "BadTopic"),
            (403, "InvalidProviderToken"),
            (403, "BadCertificate"),
            (404, "BadPath"),
            (413, "PayloadTooLarge"),
        ] {
            let body = format!(r#"{{"reason":"{reason}"}}"#);

            let (outcome, _) = classify_error(status, body.as_bytes(), None);

            assert_eq!(outcome.class(), "permanent", "{status} {reason}");
            assert_eq!(outcome.labels()[2], reason);
        }
    }

    #[test]
    fn server_errors_and_rate_limits_are_retryable_with_retry_after() {
        for (status, reason) in [
            (429, "TooManyRequests"),
            (500, "InternalServerError"),
            (503, "ServiceUnavailable"),
        ] {
            let body = format!(r#"{{"reason":"{reason}"}}"#);

            let (outcome, _) = classify_error(status, body.as_bytes(), Some(Duration::from_secs(7)));

            assert_eq!(
                outcome,
                PushOutcome::Retryable {
                    platform: Platform::Apns,
                    reason: Reason::Apns {
                        status,
                        reason: ApnsReason::from_text(reason)
                    },
                    retry_after: Some(Duration::from_secs(7)),
                }
            );
        }
    }

    #[test]
    fn unknown_reason_is_kept_and_classed_by_status() {
        let (client_error, _) = classify_error(400, br#"{"reason":"BrandNewReason"}"#, None);
        let (server_error, _) = classify_error(502, b"not json", None);

        assert_eq!(
            client_error.reason(),
            Some(&Reason::Apns {
                status: 400,
                reason: ApnsReason::Other("BrandNewReason".into())
            })
        );
        assert_eq!(client_error.class(), "permanent");
        assert_eq!(server_error.class(), "retryable");
        assert_eq!(server_error.labels()[2], "HTTP_502");
    }
}
