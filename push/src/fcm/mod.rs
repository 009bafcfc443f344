//! The FCM client: HTTP v1 `messages:send` with OAuth2 service-account
//! credentials.
//!
//! - [`message`]: the message and its request body.
//! - [`oauth`]: the token exchange and the cached access token.
//! - [`response`]: error codes and their classification.

pub mod message;
pub mod oauth;
pub mod response;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tracing::info;

pub use message::{AndroidConfig, AndroidPriority, FcmMessage, FcmNotification, FcmTarget};
pub use oauth::{AccessTokens, KeyFileError, ServiceAccountKey};
pub use response::FcmErrorCode;

use self::oauth::ExchangeFailure;
use self::response::classify_error;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, FcmConfig};
use crate::outcome::{Platform, PushOutcome, Reason, Transport};
use crate::retry_after::retry_after;
use crate::tls::{client_config, TlsError};

/// Errors of building an FCM client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FcmSetupError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS configuration cannot be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The service account key cannot be used.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// Neither the configuration nor the key file names the project.
    #[error("no Firebase project: set fcm.project_id or use a key file with project_id")]
    NoProject,
    /// reqwest cannot build the HTTP client.
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// Sends messages through FCM. Cheap to share behind an `Arc`; every send may
/// run concurrently.
#[derive(Debug)]
pub struct FcmClient {
    http: reqwest::Client,
    tokens: AccessTokens,
    send_url: String,
    project_id: String,
    clock: Arc<dyn Clock>,
    request_timeout_ms: u64,
}

#[derive(Deserialize)]
struct SendResponse {
    name: String,
}

impl FcmClient {
    /// Builds a client on the system clock.
    pub fn new(config: &FcmConfig) -> Result<FcmClient, FcmSetupError> {
        FcmClient::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds a client whose access-token lifetimes follow `clock`.
    pub fn with_clock(config: &FcmConfig, clock: Arc<dyn Clock>) -> Result<FcmClient, FcmSetupError> {
        config.validate()?;
        let key = ServiceAccountKey::from_file(&config.service_account_key_path)?;
        let project_id = config
            .project_id
            .clone()
            .or_else(|| key.project_id.clone())
            .ok_or(FcmSetupError::NoProject)?;
        let refresh_margin = Duration::from_secs(config.token_refresh_margin_secs);
        let tokens = AccessTokens::new(
            &key,
            &config.service_account_key_path,
            refresh_margin,
            Arc::clone(&clock),
        )?;

        let tls = client_config(
            config.public_roots,
            &config.extra_root_certificate_paths,
            None,
            &[b"h2", b"http/1.1"],
        )?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .build()
            .map_err(FcmSetupError::Http)?;

        let base_url = config.base_url.trim_end_matches('/');
        Ok(FcmClient {
            http,
            tokens,
            send_url: format!("{base_url}/v1/projects/{project_id}/messages:send"),
            project_id,
            clock,
            request_timeout_ms: config.request_timeout_ms,
        })
    }

    /// The Firebase project messages go to.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Sends one message and classifies the result. A 401 is retried once
    /// with a new access token, in case the cached one was revoked.
    pub async fn send(&self, message: &FcmMessage) -> PushOutcome {
        if let Err(invalid) = message.check() {
            return permanent(Reason::Invalid(invalid));
        }
        let body = message.to_request_body();

        let mut fresh_token_tried = false;
        loop {
            let token = match self.tokens.get(&self.http).await {
                Ok(token) => token,
                Err(failure) => return exchange_outcome(failure),
            };
            let response = match self
                .http
                .post(&self.send_url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
            {
                Ok(response) => response,
                Err(error) => return retryable(self.transport_reason(&error), None),
            };

            let status = response.status().as_u16();
            if status == 401 && !fresh_token_tried {
                info!(project = %self.project_id, "FCM rejected the access token; exchanging a new one");
                self.tokens.invalidate(&token).await;
                fresh_token_tried = true;
                continue;
            }
            let wait = retry_after(response.headers(), self.clock.now());
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(error) => return retryable(self.transport_reason(&error), None),
            };
            if status != 200 {
                return classify_error(status, &body, wait);
            }
            return match serde_json::from_slice::<SendResponse>(&body) {
                Ok(sent) => PushOutcome::Delivered {
                    platform: Platform::Fcm,
                    id: sent.name,
                },
                Err(error) => retryable(
                    Reason::Transport(Transport::ConnectionLost {
                        message: format!("unreadable success response: {error}"),
                    }),
                    None,
                ),
            };
        }
    }

    fn transport_reason(&self, error: &reqwest::Error) -> Reason {
        let transport = if error.is_timeout() {
            Transport::Timeout {
                timeout_ms: self.request_timeout_ms,
            }
        } else if error.is_connect() {
            Transport::ConnectFailed {
                message: error_chain(error),
            }
        } else {
            Transport::ConnectionLost {
                message: error_chain(error),
            }
        };
        Reason::Transport(transport)
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}

fn exchange_outcome(failure: ExchangeFailure) -> PushOutcome {
    let reason = Reason::OAuth {
        status: failure.status,
        message: failure.message,
    };
    if failure.retryable {
        retryable(reason, None)
    } else {
        permanent(reason)
    }
}

fn permanent(reason: Reason) -> PushOutcome {
    PushOutcome::Permanent {
        platform: Platform::Fcm,
        reason,
    }
}

fn retryable(reason: Reason, retry_after: Option<std::time::Duration>) -> PushOutcome {
    PushOutcome::Retryable {
        platform: Platform::Fcm,
        reason,
        retry_after,
    }
}
