//! Configuration of the two clients, meant to be embedded in the worker's
//! configuration file: every key has a unit in its name and a default where
//! one is sensible, and unknown keys are errors.

use std::path::PathBuf;
use std::time::Duration;

use http::Uri;
use serde::Deserialize;

/// Apple's production host (Sending notification requests to APNs, Apple
/// Developer documentation, read December 2026).
pub const APNS_PRODUCTION: &str = "https://api.push.apple.com";

/// Apple's development (sandbox) host, same source.
pub const APNS_SANDBOX: &str = "https://api.sandbox.push.apple.com";

/// FCM's HTTP v1 host.
pub const FCM_BASE_URL: &str = "https://fcm.googleapis.com";

/// Apple asks providers to refresh the provider token no more than once every
/// 20 minutes; APNs rejects a token older than one hour.
pub const MIN_TOKEN_REFRESH_SECS: u64 = 20 * 60;

/// The latest refresh the configuration allows: five minutes before the
/// one-hour limit, so that a request signed just before the refresh still
/// reaches APNs in time.
pub const MAX_TOKEN_REFRESH_SECS: u64 = 55 * 60;

/// Length of Apple's key and team identifiers.
const APPLE_ID_LEN: usize = 10;

/// A value that parsed but breaks a rule.
#[derive(Debug, thiserror::Error)]
#[error("invalid push configuration key `{key}`: {reason}")]
pub struct ConfigError {
    /// The key, relative to the client's table (`apns.token_refresh_secs`).
    pub key: &'static str,
    /// The broken rule and the fix.
    pub reason: String,
}

/// The APNs client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// `production`, `sandbox`, or an `https://host:port` URL such as a
    /// stand-in server's.
    #[serde(default = "default_apns_endpoint")]
    pub endpoint: String,
    /// How the client authenticates.
    pub auth: ApnsAuth,
    /// Whether to trust Mozilla's root certificates (needed for Apple's hosts).
    #[serde(default = "default_true")]
    pub public_roots: bool,
    /// Extra trusted root certificates, PEM files.
    #[serde(default)]
    pub extra_root_certificate_paths: Vec<PathBuf>,
    /// Number of HTTP/2 connections; requests are spread over them.
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// Upper bound of concurrent streams per connection. The server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS applies when it is lower.
    #[serde(default = "default_max_concurrent_streams")]
    pub max_concurrent_streams: usize,
    /// Time allowed for TCP, TLS and the HTTP/2 handshake, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed for one request, from sending to the end of the response,
    /// in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Interval of HTTP/2 PING frames on each connection, also while idle, in
    /// milliseconds; 0 turns keep-alive off.
    #[serde(default = "default_keep_alive_interval_ms")]
    pub keep_alive_interval_ms: u64,
    /// Time allowed for a PING's acknowledgement before the connection is
    /// closed, in milliseconds.
    #[serde(default = "default_keep_alive_timeout_ms")]
    pub keep_alive_timeout_ms: u64,
    /// Interval of provider token replacement, in seconds: between 1200
    /// (Apple's minimum interval) and 3300 (five minutes before APNs rejects
    /// it). Tokens switch at multiples of it since the UNIX epoch, so give
    /// every process that shares a key the same value.
    #[serde(default = "default_token_refresh_secs")]
    pub token_refresh_secs: u64,
    /// Attempts of one request the server did not process (streams above a
    /// GOAWAY's last stream id, refused streams) before giving up as retryable.
    #[serde(default = "default_unprocessed_attempts")]
    pub unprocessed_attempts: u32,
}

/// APNs authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ApnsAuth {
    /// A provider token (ES256 JWT) signed with a `.p8` key.
    Token {
        /// The `.p8` file (PKCS#8 PEM) downloaded from Apple.
        key_path: PathBuf,
        /// The 10-character key id, sent as the JWT's `kid`.
        key_id: String,
        /// The 10-character team id, sent as the JWT's `iss`.
        team_id: String,
    },
    /// A TLS client certificate. Convert Apple's `.p12` with
    /// `openssl pkcs12 -in cert.p12 -clcerts -nokeys` and `-nocerts -nodes`.
    Certificate {
        /// The certificate, PEM.
        certificate_path: PathBuf,
        /// Its private key, PEM.
        private_key_path: PathBuf,
    },
}

fn default_apns_endpoint() -> String {
    "production".into()
}

fn default_true() -> bool {
    true
}

fn default_connections() -> usize {
    1
}

fn default_max_concurrent_streams() -> usize {
    500
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_keep_alive_interval_ms() -> u64 {
    60_000
}

fn default_keep_alive_timeout_ms() -> u64 {
    20_000
}

fn default_token_refresh_secs() -> u64 {
    50 * 60
}

fn default_unprocessed_attempts() -> u32 {
    3
}

impl ApnsConfig {
    /// A configuration with the defaults, for `endpoint` and `auth`.
    pub fn new(endpoint: impl Into<String>, auth: ApnsAuth) -> ApnsConfig {
        ApnsConfig {
            endpoint: endpoint.into(),
            auth,
            public_roots: true,
            extra_root_certificate_paths: Vec::new(),
            connections: default_connections(),
            max_concurrent_streams: default_max_concurrent_streams(),
            connect_timeout_ms: default_timeout_ms(),
            request_timeout_ms: default_timeout_ms(),
            keep_alive_interval_ms: default_keep_alive_interval_ms(),
            keep_alive_timeout_ms: default_keep_alive_timeout_ms(),
            token_refresh_secs: default_token_refresh_secs(),
            unprocessed_attempts: default_unprocessed_attempts(),
        }
    }

    /// The endpoint as a URL: Apple's hosts for `production` and `sandbox`.
    pub fn endpoint_uri(&self) -> Result<Uri, ConfigError> {
        let url = match self.endpoint.as_str() {
            "production" => APNS_PRODUCTION,
            "sandbox" => APNS_SANDBOX,
            other => other,
        };
        https_uri("apns.endpoint", url)
    }

    /// Checks every rule; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.endpoint_uri()?;
        if self.connections == 0 {
            return Err(ConfigError {
                key: "apns.connections",
                reason: "must be at least 1".into(),
            });
        }
        if self.max_concurrent_streams == 0 {
            return Err(ConfigError {
                key: "apns.max_concurrent_streams",
                reason: "must be at least 1".into(),
            });
        }
        positive("apns.connect_timeout_ms", self.connect_timeout_ms)?;
        positive("apns.request_timeout_ms", self.request_timeout_ms)?;
        if self.keep_alive_interval_ms > 0 {
            positive("apns.keep_alive_timeout_ms", self.keep_alive_timeout_ms)?;
        }
        if !(MIN_TOKEN_REFRESH_SECS..=MAX_TOKEN_REFRESH_SECS).contains(&self.token_refresh_secs) {
            return Err(ConfigError {
                key: "apns.token_refresh_secs",
                reason: format!(
                    "{} is outside {MIN_TOKEN_REFRESH_SECS}..={MAX_TOKEN_REFRESH_SECS}: APNs answers TooManyProviderTokenUpdates below 20 minutes and ExpiredProviderToken after an hour",
                    self.token_refresh_secs
                ),
            });
        }
        if self.unprocessed_attempts == 0 {
            return Err(ConfigError {
                key: "apns.unprocessed_attempts",
                reason: "must be at least 1".into(),
            });
        }
        if let ApnsAuth::Token { key_id, team_id, .. } = &self.auth {
            check_apple_id(
                "apns.auth.key_id",
                key_id,
                "the key's id, shown next to the .p8 file in Apple's developer account",
            )?;
            check_apple_id("apns.auth.team_id", team_id, "the Team ID of Apple's developer account")?;
        }
        Ok(())
    }

    /// [`ApnsConfig::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// [`ApnsConfig::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// Checks an Apple key or team identifier: 10 upper-case letters and digits.
/// Without this check a wrong one would fail only at the first push, as
/// APNs' `InvalidProviderToken`.
fn check_apple_id(key: &'static str, value: &str, where_to_find: &str) -> Result<(), ConfigError> {
    let valid = value.len() == APPLE_ID_LEN
        && value
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
    if valid {
        return Ok(());
    }
    Err(ConfigError {
        key,
        reason: format!("`{value}` is not {APPLE_ID_LEN} upper-case letters and digits; copy {where_to_find}"),
    })
}

/// The FCM client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// The service account's JSON key file. Its `token_uri` is where access
    /// tokens are requested.
    pub service_account_key_path: PathBuf,
    /// Base URL of the HTTP v1 API; requests go to
    /// `{base_url}/v1/projects/{project}/messages:send`.
    #[serde(default = "default_fcm_base_url")]
    pub base_url: String,
    /// The Firebase project; the key file's `project_id` when not set.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Whether to trust Mozilla's root certificates (needed for Google's hosts).
    #[serde(default = "default_true")]
    pub public_roots: bool,
    /// Extra trusted root certificates, PEM files.
    #[serde(default)]
    pub extra_root_certificate_paths: Vec<PathBuf>,
    /// Time allowed to open a connection, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed for one request, including the token exchange, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub request_timeout_ms: u64,
    /// How long before its expiry an access token is replaced, in seconds.
    #[serde(default = "default_token_refresh_margin_secs")]
    pub token_refresh_margin_secs: u64,
}

fn default_fcm_base_url() -> String {
    FCM_BASE_URL.into()
}

fn default_token_refresh_margin_secs() -> u64 {
    5 * 60
}

impl FcmConfig {
    /// A configuration with the defaults, for a key file.
    pub fn new(service_account_key_path: impl Into<PathBuf>) -> FcmConfig {
        FcmConfig {
            service_account_key_path: service_account_key_path.into(),
            base_url: default_fcm_base_url(),
            project_id: None,
            public_roots: true,
            extra_root_certificate_paths: Vec::new(),
            connect_timeout_ms: default_timeout_ms(),
            request_timeout_ms: default_timeout_ms(),
            token_refresh_margin_secs: default_token_refresh_margin_secs(),
        }
    }

    /// Checks every rule; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        https_uri("fcm.base_url", &self.base_url)?;
        positive("fcm.connect_timeout_ms", self.connect_timeout_ms)?;
        positive("fcm.request_timeout_ms", self.request_timeout_ms)?;
        if self.token_refresh_margin_secs >= 30 * 60 {
            return Err(ConfigError {
                key: "fcm.token_refresh_margin_secs",
                reason: "must be below 1800: Google's access tokens live one hour".into(),
            });
        }
        Ok(())
    }
}

fn https_uri(key: &'static str, url: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = url.parse().map_err(|_| ConfigError {
        key,
        reason: format!("`{url}` is not a URL; write https://host[:port]"),
    })?;
    if uri.scheme_str() != Some("https") || uri.host().is_none() {
        return Err(ConfigError {
            key,
            reason: format!("`{url}` is not an https:// URL with a host; both services require TLS"),
        });
    }
    Ok(uri)
}

fn positive(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError {
            key,
            reason: "must be above 0".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
