//! FCM's error bodies and what each means for the caller.
//!
//! An error is a google.rpc.Status (`{"error": {"code", "message", "status",
//! "details"}}`) whose details may hold a
//! `type.googleapis.com/google.firebase.fcm.v1.FcmError` with an `errorCode`
//! (FCM HTTP v1 reference, ErrorCode, Firebase documentation, read December
//! 2026).

use std::time::Duration;

use serde::Deserialize;

use crate::outcome::{Platform, PushOutcome, Reason};

/// The `@type` of FCM's error detail.
pub const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";

/// The minimum wait FCM requires after QUOTA_EXCEEDED.
pub const QUOTA_EXCEEDED_MIN_WAIT: Duration = Duration::from_secs(60);

/// FCM's error code, from the FcmError detail or else the google.rpc status
/// name. Codes this client does not know are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FcmErrorCode {
    /// `UNSPECIFIED_ERROR`.
    UnspecifiedError,
    /// `INVALID_ARGUMENT`: the message is malformed.
    InvalidArgument,
    /// `UNREGISTERED`: the token is no longer valid.
    Unregistered,
    /// `SENDER_ID_MISMATCH`: the token belongs to another sender.
    SenderIdMismatch,
    /// `QUOTA_EXCEEDED`: a sending limit was hit.
    QuotaExceeded,
    /// `UNAVAILABLE`: the server is overloaded.
    Unavailable,
    /// `INTERNAL`: an unknown internal error.
    Internal,
    /// `THIRD_PARTY_AUTH_ERROR`: the APNs certificate or web push key in the
    /// Firebase project is invalid.
    ThirdPartyAuthError,
    /// Any other code or status name.
    Other(String),
}

impl FcmErrorCode {
    /// The code as FCM writes it.
    pub fn as_str(&self) -> &str {
        match self {
            FcmErrorCode::UnspecifiedError => "UNSPECIFIED_ERROR",
            FcmErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            FcmErrorCode::Unregistered => "UNREGISTERED",
            FcmErrorCode::SenderIdMismatch => "SENDER_ID_MISMATCH",
            FcmErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            FcmErrorCode::Unavailable => "UNAVAILABLE",
            FcmErrorCode::Internal => "INTERNAL",
            FcmErrorCode::ThirdPartyAuthError => "THIRD_PARTY_AUTH_ERROR",
            FcmErrorCode::Other(text) => text,
        }
    }

    /// Parses a code, keeping unknown text.
    pub fn from_text(text: &str) -> FcmErrorCode {
        match text {
            "UNSPECIFIED_ERROR" => FcmErrorCode::UnspecifiedError,
            "INVALID_ARGUMENT" => FcmErrorCode::InvalidArgument,
            "UNREGISTERED" => FcmErrorCode::Unregistered,
            "SENDER_ID_MISMATCH" => FcmErrorCode::SenderIdMismatch,
            "QUOTA_EXCEEDED" => FcmErrorCode::QuotaExceeded,
            "UNAVAILABLE" => FcmErrorCode::Unavailable,
            "INTERNAL" => FcmErrorCode::Internal,
            "THIRD_PARTY_AUTH_ERROR" => FcmErrorCode::ThirdPartyAuthError,
            other => FcmErrorCode::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Status,
}

#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Debug, Deserialize)]
struct Detail {
    #[serde(rename = "@type", default)]
    type_url: String,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
}

/// Classifies a response that is not 200.
pub fn classify_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> PushOutcome {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let error = envelope.error;
    let detail_code = error
        .details
        .iter()
        .find(|detail| detail.type_url == FCM_ERROR_TYPE)
        .and_then(|detail| detail.error_code.clone());
    let code_text = detail_code.or(error.status).unwrap_or_else(|| format!("HTTP {status}"));
    let code = FcmErrorCode::from_text(&code_text);

    let platform = Platform::Fcm;
    let class = class_of(status, &code);
    let retry_after = match code {
        FcmErrorCode::QuotaExceeded => Some(retry_after.unwrap_or_default().max(QUOTA_EXCEEDED_MIN_WAIT)),
        _ => retry_after,
    };
    let reason = Reason::Fcm {
        status,
        code,
        message: error.message,
    };
    match class {
        Class::TokenGone => PushOutcome::TokenGone {
            platform,
            reason,
            timestamp: None,
        },
        Class::Retryable => PushOutcome::Retryable {
            platform,
            reason,
            retry_after,
        },
        Class::Permanent => PushOutcome::Permanent { platform, reason },
    }
}

enum Class {
    TokenGone,
    Retryable,
    Permanent,
}

fn class_of(status: u16, code: &FcmErrorCode) -> Class {
    match code {
        FcmErrorCode::Unregistered => Class::TokenGone,
        FcmErrorCode::QuotaExceeded | FcmErrorCode::Unavailable | FcmErrorCode::Internal => Class::Retryable,
        FcmErrorCode::InvalidArgument | FcmErrorCode::SenderIdMismatch | FcmErrorCode::ThirdPartyAuthError => {
            Class::Permanent
        }
        _ if status == 429 || status >= 500 => Class::Retryable,
        _ => Class::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: u16, rpc_status: &str, error_code: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {
            "code": status, "message": "test message", "status": rpc_status,
            "details": [{"@type": FCM_ERROR_TYPE, "errorCode": error_code}]
        }}))
        .unwrap()
    }

    #[test]
    fn unregistered_is_token_gone_without_timestamp() {
        let outcome = classify_error(404, &body(404, "NOT_FOUND", "UNREGISTERED"), None);

        assert_eq!(
            outcome,
            PushOutcome::TokenGone {
                platform: Platform::Fcm,
                reason: Reason::Fcm {
                    status: 404,
                    code: FcmErrorCode::Unregistered,
                    message: "test message".into()
                },
                timestamp: None,
            }
        );
    }

    #[test]
    fn quota_exceeded_waits_at_least_a_minute() {
        let short = classify_error(
            429,
            &body(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            Some(Duration::from_secs(5)),
        );
        let long = classify_error(
            429,
            &body(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            Some(Duration::from_secs(90)),
        );

        assert!(
            matches!(short, PushOutcome::Retryable { retry_after: Some(wait), .. } if wait == Duration::from_secs(60))
        );
        assert!(
            matches!(long, PushOutcome::Retryable { retry_after: Some(wait), .. } if wait == Duration::from_secs(90))
        );
    }

    #[test]
    fn invalid_argument_and_sender_mismatch_are_permanent() {
        let invalid = classify_error(400, &body(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), None);
        let mismatch = classify_error(403, &body(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), None);

        assert_eq!(invalid.class(), "permanent");
        assert_eq!(mismatch.class(), "permanent");
        assert_eq!(mismatch.labels()[2], "SENDER_ID_MISMATCH");
    }

    #[test]
    fn unknown_code_is_kept_and_classed_by_status() {
        let outcome = classify_error(
            503,
            &body(503, "UNAVAILABLE", "BRAND_NEW_CODE"),
            Some(Duration::from_secs(2)),
        );
        let no_detail = classify_error(
            401,
            br#"{"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "m"}}"#,
            None,
        );

        assert_eq!(outcome.labels()[2], "BRAND_NEW_CODE");
        assert_eq!(outcome.class(), "retryable");
        assert_eq!(no_detail.labels()[2], "UNAUTHENTICATED");
        assert_eq!(no_detail.class(), "permanent");
    }
}
