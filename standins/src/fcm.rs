//! The FCM stand-in: Google's OAuth2 token endpoint (JWT bearer grant) and
//! HTTP v1 `messages:send`, responding with google.rpc.Status error bodies
//! that carry an FcmError detail (FCM HTTP v1 reference, Firebase
//! documentation, read December 2026).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{Faults, ScriptedResponse};
use crate::record::{Recorded, Recording};
use crate::Now;

/// The `@type` of FCM's error detail.
const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// FCM's payload limit for a message, in bytes.
const MAX_MESSAGE_BYTES: usize = 4096;
const MESSAGE_FIELDS: [&str; 10] = [
    "name",
    "token",
    "topic",
    "condition",
    "notification",
    "data",
    "android",
    "apns",
    "webpush",
    "fcm_options",
];

/// State of the FCM stand-in.
pub(crate) struct FcmServer {
    pub(crate) project_id: String,
    pub(crate) client_email: String,
    pub(crate) token_uri: String,
    pub(crate) public_key: DecodingKey,
    pub(crate) access_token_lifetime: Duration,
    pub(crate) now: Now,
    pub(crate) faults: Faults,
    pub(crate) recording: Arc<Recording>,
    pub(crate) unregistered: Mutex<HashSet<String>>,
    pub(crate) token_exchanges: AtomicU64,
    issued: Mutex<HashMap<String, SystemTime>>,
    next_message: AtomicU64,
}

impl FcmServer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        project_id: String,
        client_email: String,
        token_uri: String,
        public_key: DecodingKey,
        access_token_lifetime: Duration,
        now: Now,
        recording: Arc<Recording>,
    ) -> FcmServer {
        FcmServer {
            project_id,
            client_email,
            token_uri,
            public_key,
            access_token_lifetime,
            now,
            faults: Faults::default(),
            recording,
            unregistered: Mutex::new(HashSet::new()),
            token_exchanges: AtomicU64::new(0),
            issued: Mutex::new(HashMap::new()),
            next_message: AtomicU64::new(1),
        }
    }
}

/// The routes of the token endpoint and the send API.
pub(crate) fn router(server: Arc<FcmServer>) -> Router {
    Router::new()
        .route("/token", post(exchange_token))
        .route("/v1/projects/{project}/messages:send", post(send))
        .with_state(server)
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    scope: String,
    aud: String,
    iat: u64,
    exp: u64,
}

async fn exchange_token(State(server): State<Arc<FcmServer>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER_GRANT) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    // `aud` is compared with the token URI below, with its own error.
    validation.validate_aud = false;
    let Ok(claims) = jsonwebtoken::decode::<AssertionClaims>(assertion, &server.public_key, &validation) else {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    };
    let claims = claims.claims;
    let now = unix_secs((server.now)());
    if claims.iss != server.client_email || claims.aud != server.token_uri {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: iss or aud does not match the service account.",
        );
    }
    if !claims.scope.split(' ').any(|scope| scope == FCM_SCOPE) {
        return oauth_error(
            "invalid_scope",
            "The assertion does not request the firebase.messaging scope.",
        );
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 || claims.exp <= now || claims.iat > now + 60 {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }

    let number = server.token_exchanges.fetch_add(1, Ordering::SeqCst) + 1;
    let access_token = format!("ya29.stand-in-{number}-{}", uuid::Uuid::new_v4().simple());
    let expires_at = (server.now)() + server.access_token_lifetime;
    server
        .issued
        .lock()
        .expect("token lock is never poisoned")
        .insert(access_token.clone(), expires_at);
    Json(json!({
        "access_token": access_token,
        "expires_in": server.access_token_lifetime.as_secs(),
        "token_type": "Bearer",
    }))
    .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn send(
    State(server): State<Arc<FcmServer>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // One clock read per request, for both the token's expiry and the record.
    let received_at = (server.now)();
    let received_at_ms = crate::unix_millis(received_at);
    let Some(access_token) = bearer(&headers).filter(|token| server.token_valid(token, received_at)) else {
        return rpc_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            None,
            None,
        );
    };
    if project != server.project_id {
        return rpc_error(
            403,
            &format!("Permission 'cloudmessaging.messages.create' denied on resource 'projects/{project}'."),
            None,
            None,
        );
    }
    let message = match parse_message(&body) {
        Ok(message) => message,
        Err(problem) => return rpc_error(400, &problem, Some("INVALID_ARGUMENT"), None),
    };
    let target = target_of(&message);

    let planned = server.faults.plan(&target);
    if planned.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(planned.latency_ms)).await;
    }
    if let Some(scripted) = planned.response {
        return scripted_error(&scripted);
    }
    if server
        .unregistered
        .lock()
        .expect("registry lock is never poisoned")
        .contains(&target)
    {
        return rpc_error(404, "Requested entity was not found.", Some("UNREGISTERED"), None);
    }

    let number = server.next_message.fetch_add(1, Ordering::SeqCst);
    let name = format!("projects/{project}/messages/{number}");
    server.recording.push(Recorded {
        platform: "fcm".into(),
        sequence: 0,
        target,
        headers: Default::default(),
        body: message,
        connection: None,
        stream_id: None,
        provider_token_iat: None,
        access_token: Some(access_token),
        id: name.clone(),
        received_at_ms,
    });
    Json(json!({ "name": name })).into_response()
}

impl FcmServer {
    fn token_valid(&self, token: &str, now: SystemTime) -> bool {
        let issued = self.issued.lock().expect("token lock is never poisoned");
        issued.get(token).is_some_and(|expires_at| now < *expires_at)
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_string)
}

/// Checks the message as FCM does; the error is FCM's kind of message.
fn parse_message(body: &[u8]) -> Result<Value, String> {
    if body.len() > MAX_MESSAGE_BYTES + 1024 {
        return Err("Message is too big".into());
    }
    let request: Value =
        serde_json::from_slice(body).map_err(|error| format!("Invalid JSON payload received. {error}"))?;
    let Some(message) = request.get("message").and_then(Value::as_object) else {
        return Err("Invalid JSON payload received. Required field `message` is missing.".into());
    };
    if let Some(unknown) = message.keys().find(|key| !MESSAGE_FIELDS.contains(&key.as_str())) {
        return Err(format!(
            "Invalid JSON payload received. Unknown name \"{unknown}\" at 'message': Cannot find field."
        ));
    }

    let targets = ["token", "topic", "condition"]
        .iter()
        .filter(|key| message.contains_key(**key))
        .count();
    if targets != 1 {
        return Err("Exactly one of token, topic or condition must be specified.".into());
    }
    if let Some(token) = message.get("token") {
        let valid = token.as_str().is_some_and(|token| {
            token.len() >= 20
                && token
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_:".contains(&byte))
        });
        if !valid {
            return Err("The registration token is not a valid FCM registration token".into());
        }
    }
    if let Some(data) = message.get("data") {
        let Some(data) = data.as_object() else {
            return Err("Invalid value at 'message.data': expected a map of strings.".into());
        };
        for (key, value) in data {
            if !value.is_string() {
                return Err(format!("Invalid value at 'message.data[{key}].value' (TYPE_STRING)."));
            }
            if key == "from" || key == "message_type" || key.starts_with("google") || key.starts_with("gcm") {
                return Err(format!("Invalid data key `{key}`: reserved."));
            }
        }
    }
    if let Some(android) = message.get("android") {
        check_android(android)?;
    }
    for field in ["apns", "webpush", "notification"] {
        if message.get(field).is_some_and(|value| !value.is_object()) {
            return Err(format!("Invalid value at 'message.{field}': expected an object."));
        }
    }
    let size = serde_json::to_vec(message).map(|bytes| bytes.len()).unwrap_or(0);
    if size > MAX_MESSAGE_BYTES {
        return Err(format!(
            "Message is too big: {size} bytes, the limit is {MAX_MESSAGE_BYTES}."
        ));
    }
    Ok(Value::Object(message.clone()))
}

fn check_android(android: &Value) -> Result<(), String> {
    let Some(android) = android.as_object() else {
        return Err("Invalid value at 'message.android': expected an object.".into());
    };
    if let Some(priority) = android.get("priority") {
        if !matches!(priority.as_str(), Some("NORMAL" | "HIGH")) {
            return Err(format!("Invalid value at 'message.android.priority': {priority}"));
        }
    }
    if let Some(ttl) = android.get("ttl") {
        let valid = ttl.as_str().is_some_and(|text| {
            let Some(number) = text.strip_suffix('s') else {
                return false;
            };
            let (seconds, fraction) = number.split_once('.').unwrap_or((number, ""));
            !seconds.is_empty()
                && seconds.bytes().all(|byte| byte.is_ascii_digit())
                && fraction.len() <= 9
                && fraction.bytes().all(|byte| byte.is_ascii_digit())
        });
        if !valid {
            return Err(format!(
                "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), {ttl}"
            ));
        }
    }
    Ok(())
}

fn target_of(message: &Value) -> String {
    if let Some(token) = message.get("token").and_then(Value::as_str) {
        return token.to_string();
    }
    if let Some(topic) = message.get("topic").and_then(Value::as_str) {
        return format!("topic:{topic}");
    }
    let condition = message.get("condition").and_then(Value::as_str).unwrap_or_default();
    format!("condition:{condition}")
}

fn scripted_error(scripted: &ScriptedResponse) -> Response {
    rpc_error(
        scripted.status,
        "Scripted by the stand-in's fault injection.",
        scripted.reason.as_deref(),
        scripted.retry_after_secs,
    )
}

/// A google.rpc.Status error body, with an FcmError detail when `error_code` is given.
fn rpc_error(status: u16, message: &str, error_code: Option<&str>, retry_after_secs: Option<u64>) -> Response {
    let rpc_status = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    let details: Vec<Value> = error_code
        .map(|code| json!({ "@type": FCM_ERROR_TYPE, "errorCode": code }))
        .into_iter()
        .collect();
    let body = json!({ "error": { "code": status, "message": message, "status": rpc_status, "details": details } });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = retry_after_secs {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            seconds.to_string().parse().expect("digits are a header value"),
        );
    }
    response
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
