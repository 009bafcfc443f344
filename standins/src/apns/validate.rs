//! The checks APNs makes on a request, with its status codes and reasons
//! ("Handling notification responses from APNs" and "Sending notification
//! requests to APNs", Apple Developer documentation, read December 2026).
//!
//! Apple documents the codes but not the order of its checks beyond "APNs
//! validates the request using either the provided authentication token or
//! your server's certificate. If validation succeeds, APNs uses the provided
//! device token to identify the user's device". The order here follows that:
//! method and path, then the provider token, then the headers, then the
//! device token and the payload, and last the device token's state (410).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::Now;

/// Apple's minimum interval between provider token updates.
const MIN_TOKEN_UPDATE_SECS: u64 = 20 * 60;

/// An APNs error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
    pub(crate) timestamp_ms: Option<u64>,
}

fn reject(status: u16, reason: &'static str) -> Rejection {
    Rejection {
        status,
        reason,
        timestamp_ms: None,
    }
}

/// A request that passed every check.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) device_token: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) payload: Value,
    pub(crate) provider_token_iat: Option<u64>,
    pub(crate) apns_id: String,
}

/// The provider authentication mode.
pub(crate) enum Auth {
    /// Provider tokens signed by this key, with this key id and team id.
    Token {
        key: DecodingKey,
        key_id: String,
        team_id: String,
    },
    /// TLS client certificates, checked in the handshake.
    Certificate,
}

/// The checks and the state they need.
pub(crate) struct Validator {
    pub(crate) auth: Auth,
    /// The app's bundle id; topics must be it plus the push type's suffix.
    pub(crate) bundle_id: String,
    pub(crate) max_token_age: Duration,
    pub(crate) now: Now,
    /// The team's current provider token, to detect updates more often than
    /// every 20 minutes.
    current_token: Mutex<Option<CurrentToken>>,
    /// Tokens no longer valid, with the time APNs reports in a 410.
    pub(crate) unregistered: Mutex<HashMap<String, u64>>,
}

/// The provider token a team uses now.
struct CurrentToken {
    jwt: String,
    iat: u64,
}

#[derive(Deserialize)]
struct ProviderClaims {
    iss: String,
    iat: u64,
}

impl Validator {
    pub(crate) fn new(auth: Auth, bundle_id: String, max_token_age: Duration, now: Now) -> Validator {
        Validator {
            auth,
            bundle_id,
            max_token_age,
            now,
            current_token: Mutex::new(None),
            unregistered: Mutex::new(HashMap::new()),
        }
    }

    /// Runs every check in order.
    pub(crate) fn check(&self, parts: &Parts, body: &[u8]) -> Result<Accepted, Rejection> {
        if parts.method != http::Method::POST {
            return Err(reject(405, "MethodNotAllowed"));
        }
        let device_token = match parts.uri.path().strip_prefix("/3/device/") {
            Some("") => return Err(reject(400, "MissingDeviceToken")),
            Some(token) => token.to_string(),
            None => return Err(reject(404, "BadPath")),
        };
        let provider_token_iat = self.check_provider_token(parts)?;
        let headers = self.check_headers(parts)?;
        check_device_token(&device_token)?;
        let payload = check_payload(body, headers.get("apns-push-type").map(String::as_str))?;
        self.check_registered(&device_token)?;

        let apns_id = headers
            .get("apns-id")
            .cloned()
            .unwrap_or_else(|| Uuid::new_v4().hyphenated().to_string());
        Ok(Accepted {
            device_token,
            headers,
            payload,
            provider_token_iat,
            apns_id,
        })
    }

    fn check_provider_token(&self, parts: &Parts) -> Result<Option<u64>, Rejection> {
        let Auth::Token { key, key_id, team_id } = &self.auth else {
            return Ok(None);
        };
        let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
            return Err(reject(403, "MissingProviderToken"));
        };
        let jwt = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("bearer ").or_else(|| value.strip_prefix("Bearer ")))
            .ok_or_else(|| reject(403, "InvalidProviderToken"))?;

        let header = jsonwebtoken::decode_header(jwt).map_err(|_| reject(403, "InvalidProviderToken"))?;
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(key_id.as_str()) {
            return Err(reject(403, "InvalidProviderToken"));
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<ProviderClaims>(jwt, key, &validation)
            .map_err(|_| reject(403, "InvalidProviderToken"))?
            .claims;
        if &claims.iss != team_id {
            return Err(reject(403, "InvalidProviderToken"));
        }

        let now_secs = unix_secs((self.now)());
        if now_secs.saturating_sub(claims.iat) > self.max_token_age.as_secs() {
            return Err(reject(403, "ExpiredProviderToken"));
        }
        self.check_token_update(jwt, claims.iat)?;
        Ok(Some(claims.iat))
    }

    /// Apple: "APNs reports an error if you recreate your tokens more than
    /// once every 20 minutes" (429 TooManyProviderTokenUpdates), and "you can
    /// use the same token from multiple provider servers". Apple documents
    /// neither the scope nor the measure of the limit. The stand-in applies it
    /// per team across connections and compares `iat`s. A token that differs
    /// from the current one (even by its signature alone) with an `iat` less
    /// than 20 minutes away is rejected and does not become current. One 20
    /// minutes newer replaces it, and one 20 minutes older is accepted as
    /// still in use elsewhere.
    fn check_token_update(&self, jwt: &str, iat: u64) -> Result<(), Rejection> {
        let mut current = self.current_token.lock().expect("token lock is never poisoned");
        match &*current {
            Some(token) if token.jwt == jwt => Ok(()),
            Some(token) if iat.abs_diff(token.iat) < MIN_TOKEN_UPDATE_SECS => {
                Err(reject(429, "TooManyProviderTokenUpdates"))
            }
            Some(token) if iat < token.iat => Ok(()),
            _ => {
                *current = Some(CurrentToken {
                    jwt: jwt.to_string(),
                    iat,
                });
                Ok(())
            }
        }
    }

    fn check_headers(&self, parts: &Parts) -> Result<BTreeMap<String, String>, Rejection> {
        let mut headers = BTreeMap::new();
        for name in parts.headers.keys() {
            let name = name.as_str();
            if !name.starts_with("apns-") {
                continue;
            }
            let mut values = parts.headers.get_all(name).iter();
            let value = values.next().and_then(|value| value.to_str().ok()).unwrap_or_default();
            if values.next().is_some() {
                return Err(reject(400, "DuplicateHeaders"));
            }
            headers.insert(name.to_string(), value.to_string());
        }

        let push_type = headers.get("apns-push-type").map_or("alert", String::as_str);
        let suffix = topic_suffix(push_type).ok_or_else(|| reject(400, "InvalidPushType"))?;
        match headers.get("apns-topic") {
            None if matches!(self.auth, Auth::Token { .. }) => return Err(reject(400, "MissingTopic")),
            None => {}
            Some(topic) if *topic != format!("{}{suffix}", self.bundle_id) => return Err(reject(400, "BadTopic")),
            Some(_) => {}
        }
        if let Some(priority) = headers.get("apns-priority") {
            let allowed = match push_type {
                "background" => ["5", "1"].as_slice(),
                _ => ["10", "5", "1"].as_slice(),
            };
            if !allowed.contains(&priority.as_str()) {
                return Err(reject(400, "BadPriority"));
            }
        }
        if headers
            .get("apns-expiration")
            .is_some_and(|value| value.parse::<u64>().is_err())
        {
            return Err(reject(400, "BadExpirationDate"));
        }
        if headers
            .get("apns-id")
            .is_some_and(|value| Uuid::try_parse(value).is_err())
        {
            return Err(reject(400, "BadMessageId"));
        }
        if headers.get("apns-collapse-id").is_some_and(|value| value.len() > 64) {
            return Err(reject(400, "BadCollapseId"));
        }
        Ok(headers)
    }

    fn check_registered(&self, device_token: &str) -> Result<(), Rejection> {
        let unregistered = self.unregistered.lock().expect("registry lock is never poisoned");
        match unregistered.get(device_token) {
            Some(&timestamp_ms) => Err(Rejection {
                status: 410,
                reason: "Unregistered",
                timestamp_ms: Some(timestamp_ms),
            }),
            None => Ok(()),
        }
    }
}

/// The suffix `apns-topic` carries after the bundle id for each push type
/// ("Sending notification requests to APNs", the apns-push-type table).
fn topic_suffix(push_type: &str) -> Option<&'static str> {
    let suffix = match push_type {
        "alert" | "background" | "mdm" => "",
        "voip" => ".voip",
        "complication" => ".complication",
        "fileprovider" => ".pushkit.fileprovider",
        "liveactivity" => ".push-type.liveactivity",
        "location" => ".location-query",
        "pushtotalk" => ".voip-ptt",
        "widgets" => ".push-type.widgets",
        "controls" => ".push-type.controls",
        _ => return None,
    };
    Some(suffix)
}

/// Device tokens are hexadecimal. Apple warns that their length may change;
/// today's are 64 digits.
// NOTE: the upper bound of 200 digits is the stand-in's own; Apple documents none.
fn check_device_token(token: &str) -> Result<(), Rejection> {
    let hex = token.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !hex || !token.len().is_multiple_of(2) || !(64..=200).contains(&token.len()) {
        return Err(reject(400, "BadDeviceToken"));
    }
    Ok(())
}

fn check_payload(body: &[u8], push_type: Option<&str>) -> Result<Value, Rejection> {
    if body.is_empty() {
        return Err(reject(400, "PayloadEmpty"));
    }
    let limit = if push_type == Some("voip") { 5120 } else { 4096 };
    if body.len() > limit {
        return Err(reject(413, "PayloadTooLarge"));
    }
    // NOTE: Apple documents no reason for a body that is not a JSON object;
    // "BadPayload" is the stand-in's own.
    match serde_json::from_slice::<Value>(body) {
        Ok(payload) if payload.get("aps").is_some_and(Value::is_object) => Ok(payload),
        _ => Err(reject(400, "BadPayload")),
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const MINUTE: u64 = 60;

    fn validator() -> Validator {
        Validator::new(
            Auth::Certificate,
            "com.example.app".into(),
            Duration::from_secs(60 * MINUTE),
            Arc::new(SystemTime::now),
        )
    }

    fn too_many_updates() -> Result<(), Rejection> {
        Err(reject(429, "TooManyProviderTokenUpdates"))
    }

    #[test]
    fn same_token_from_many_senders_is_no_update() {
        let validator = validator();

        assert_eq!(validator.check_token_update("token-a", 1000), Ok(()));
        assert_eq!(validator.check_token_update("token-a", 1000), Ok(()));
    }

    #[test]
    fn early_token_change_is_rejected() {
        let validator = validator();
        validator.check_token_update("token-a", 100 * MINUTE).unwrap();

        let same_iat = validator.check_token_update("token-a-resigned", 100 * MINUTE);
        let newer = validator.check_token_update("token-b", 119 * MINUTE);
        let older = validator.check_token_update("token-c", 81 * MINUTE);
        let first_again = validator.check_token_update("token-a", 100 * MINUTE);

        assert_eq!(same_iat, too_many_updates(), "a second signature of the same claims");
        assert_eq!(newer, too_many_updates());
        assert_eq!(older, too_many_updates());
        assert_eq!(first_again, Ok(()), "a rejected token does not become current");
    }

    #[test]
    fn token_20_minutes_newer_becomes_current() {
        let validator = validator();
        validator.check_token_update("token-a", 100 * MINUTE).unwrap();

        let newer = validator.check_token_update("token-b", 120 * MINUTE);
        let still_in_use_elsewhere = validator.check_token_update("token-a", 100 * MINUTE);
        let close_to_the_new_one = validator.check_token_update("token-c", 130 * MINUTE);

        assert_eq!(newer, Ok(()));
        assert_eq!(still_in_use_elsewhere, Ok(()));
        assert_eq!(close_to_the_new_one, too_many_updates());
    }
}
