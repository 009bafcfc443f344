//! Google's OAuth2 service-account flow (RFC 7523 JWT bearer grant): a JWT
//! signed with the service account's RSA key is posted to the key file's
//! `token_uri` and exchanged for an access token, which is cached and
//! replaced a margin before it expires.
//!
//! Claims as Google documents them ("Using OAuth 2.0 for Server to Server
//! Applications", read December 2026): `iss` the client email, `scope`,
//! `aud` the token URI, `iat` and `exp` at most one hour later.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::info;

use crate::clock::Clock;

/// The scope of FCM's HTTP v1 API.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The grant type of the JWT bearer flow.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Lifetime requested for each assertion; Google accepts at most one hour.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);

/// The fields of a service account's JSON key file that the flow uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's email, the assertion's issuer.
    pub client_email: String,
    /// The RSA private key, PKCS#8 PEM.
    pub private_key: String,
    /// The key's id, sent as the assertion's `kid`.
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// The URL access tokens are requested from.
    pub token_uri: String,
    /// The project, the default Firebase project of the client.
    #[serde(default)]
    pub project_id: Option<String>,
}

/// Errors of loading a key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("cannot read the service account key `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a service account key.
    #[error("`{path}` is not a service account JSON key; download one from the Google Cloud console")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The private key is not an RSA PEM key.
    #[error("the private_key of `{path}` is not an RSA PEM key")]
    Key {
        /// The file.
        path: PathBuf,
        /// jsonwebtoken's error.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

impl ServiceAccountKey {
    /// Reads a JSON key file.
    pub fn from_file(path: &Path) -> Result<ServiceAccountKey, KeyFileError> {
        let text = std::fs::read(path).map_err(|source| KeyFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| KeyFileError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A failed token exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeFailure {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    /// The endpoint's `error` and `error_description`, or the transport error.
    pub message: String,
    /// Whether a later exchange may succeed: no answer, 429 or 5xx.
    pub retryable: bool,
}

/// A cached access token.
#[derive(Clone)]
struct AccessToken {
    value: Arc<str>,
    refresh_at: SystemTime,
}

/// Exchanges assertions for access tokens and caches the current one.
pub struct AccessTokens {
    key: EncodingKey,
    client_email: String,
    key_id: Option<String>,
    token_uri: String,
    refresh_margin: Duration,
    clock: Arc<dyn Clock>,
    current: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key and the access token stay out of logs.
        f.debug_struct("AccessTokens")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl AccessTokens {
    /// Prepares the flow for `key`; nothing is requested until [`AccessTokens::get`].
    pub fn new(
        key: &ServiceAccountKey,
        key_path: &Path,
        refresh_margin: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<AccessTokens, KeyFileError> {
        let encoding_key =
            EncodingKey::from_rsa_pem(key.private_key.as_bytes()).map_err(|source| KeyFileError::Key {
                path: key_path.to_path_buf(),
                source,
            })?;
        Ok(AccessTokens {
            key: encoding_key,
            client_email: key.client_email.clone(),
            key_id: key.private_key_id.clone(),
            token_uri: key.token_uri.clone(),
            refresh_margin,
            clock,
            current: Mutex::new(None),
        })
    }

    /// The token URI the exchange posts to.
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The cached access token, exchanging a new assertion first when there
    /// is none or the current one is within the refresh margin of expiry.
    /// Concurrent callers wait for one exchange.
    pub async fn get(&self, http: &reqwest::Client) -> Result<Arc<str>, ExchangeFailure> {
        let mut current = self.current.lock().await;
        let now = self.clock.now();
        if let Some(token) = &*current {
            if now < token.refresh_at {
                return Ok(Arc::clone(&token.value));
            }
        }

        let token = self.exchange(http, now).await?;
        let value = Arc::clone(&token.value);
        *current = Some(token);
        Ok(value)
    }

    /// Drops `rejected` from the cache, so that the next [`AccessTokens::get`]
    /// exchanges a new one; a newer cached token is kept.
    pub async fn invalidate(&self, rejected: &Arc<str>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|token| token.value == *rejected) {
            *current = None;
        }
    }

    async fn exchange(&self, http: &reqwest::Client, now: SystemTime) -> Result<AccessToken, ExchangeFailure> {
        let assertion = self.assertion(now);
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.as_str())];
        let response = http
            .post(&self.token_uri)
            .form(&form)
            .send()
            .await
            .map_err(|error| ExchangeFailure {
                status: None,
                message: error.to_string(),
                retryable: true,
            })?;

        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| ExchangeFailure {
            status: Some(status),
            message: error.to_string(),
            retryable: true,
        })?;
        if status != 200 {
            let error: TokenError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(ExchangeFailure {
                status: Some(status),
                message: format!("{} {}", error.error, error.error_description)
                    .trim()
                    .to_string(),
                retryable: status == 429 || status >= 500,
            });
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|error| ExchangeFailure {
            status: Some(status),
            message: format!("unreadable token response: {error}"),
            retryable: true,
        })?;

        let lifetime = Duration::from_secs(token.expires_in);
        // A token living shorter than twice the margin is used for half its life.
        let margin = self.refresh_margin.min(lifetime / 2);
        info!(token_uri = %self.token_uri, expires_in_secs = token.expires_in, "obtained an FCM access token");
        Ok(AccessToken {
            value: Arc::from(token.access_token),
            refresh_at: now + lifetime - margin,
        })
    }

    fn assertion(&self, now: SystemTime) -> String {
        let iat = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = AssertionClaims {
            iss: &self.client_email,
            scope: FCM_SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key).expect("an RSA key loaded from PEM signs")
    }
}
