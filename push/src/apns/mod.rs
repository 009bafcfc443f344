//! The APNs client: the provider API over HTTP/2.
//!
//! - [`notification`]: the request, its payload and headers.
//! - [`token`]: the shared provider token.
//! - [`response`]: reasons and their classification.
//! - `connection`: the connection slots.
//!
//! A send that the server never processed (a stream above a GOAWAY's last
//! stream id with NO_ERROR, a REFUSED_STREAM reset, or a request the closing
//! connection never sent) is sent again on a new connection, up to
//! `unprocessed_attempts` times, because it cannot show twice. Any other
//! failure is returned to the caller to decide.

mod connection;
pub mod notification;
pub mod response;
pub mod token;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use tracing::info;

pub use notification::{Alert, ApnsNotification, InterruptionLevel, Priority, PushType};
pub use response::ApnsReason;
pub use token::{ProviderTokens, TokenKeyError};

use self::connection::{Connection, Pool};
use self::notification::token_suffix;
use self::response::{classify_error, FollowUp};
use self::token::{IssuedToken, Replacement};
use crate::clock::{Clock, SystemClock};
use crate::config::{ApnsAuth, ApnsConfig, ConfigError};
use crate::outcome::{Invalid, Platform, PushOutcome, Reason, Transport};
use crate::retry_after::retry_after;
use crate::tls::{client_config, ClientIdentity, TlsError};

/// Errors of building an APNs client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApnsSetupError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS configuration cannot be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The provider token key cannot be loaded.
    #[error(transparent)]
    TokenKey(#[from] TokenKeyError),
}

/// Sends notifications to APNs. Cheap to share behind an `Arc`; every send
/// may run concurrently.
#[derive(Debug)]
pub struct ApnsClient {
    pool: Pool,
    tokens: Option<ProviderTokens>,
    endpoint: Uri,
    clock: Arc<dyn Clock>,
    request_timeout: Duration,
    unprocessed_attempts: u32,
}

/// The result of one attempt.
enum Attempt {
    Done(PushOutcome),
    /// The server did not process the request; it is safe to send again.
    Unprocessed,
}

impl ApnsClient {
    /// Builds a client on the system clock. No connection is opened until
    /// the first send.
    pub fn new(config: &ApnsConfig) -> Result<ApnsClient, ApnsSetupError> {
        ApnsClient::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds a client whose token lifetimes follow `clock`.
    pub fn with_clock(config: &ApnsConfig, clock: Arc<dyn Clock>) -> Result<ApnsClient, ApnsSetupError> {
        config.validate()?;
        let endpoint = config.endpoint_uri()?;

        let (identity, tokens) = match &config.auth {
            ApnsAuth::Token {
                key_path,
                key_id,
                team_id,
            } => {
                let refresh_after = Duration::from_secs(config.token_refresh_secs);
                let tokens =
                    ProviderTokens::from_key_file(key_path, key_id, team_id, refresh_after, Arc::clone(&clock))?;
                (None, Some(tokens))
            }
            ApnsAuth::Certificate {
                certificate_path,
                private_key_path,
            } => {
                let identity = ClientIdentity {
                    certificate_path: certificate_path.clone(),
                    private_key_path: private_key_path.clone(),
                };
                (Some(identity), None)
            }
        };
        let tls = client_config(
            config.public_roots,
            &config.extra_root_certificate_paths,
            identity.as_ref(),
            &[b"h2"],
        )?;

        Ok(ApnsClient {
            pool: Pool::new(config, &endpoint, tls),
            tokens,
            endpoint,
            clock,
            request_timeout: config.request_timeout(),
            unprocessed_attempts: config.unprocessed_attempts,
        })
    }

    /// Sends one notification and classifies the result.
    pub async fn send(&self, notification: &ApnsNotification) -> PushOutcome {
        let payload = match notification.check().and_then(|()| notification.payload()) {
            Ok(payload) => Bytes::from(payload),
            Err(invalid) => return permanent(invalid),
        };

        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(notification, payload.clone()).await {
                Attempt::Done(outcome) => return outcome,
                Attempt::Unprocessed if attempts >= self.unprocessed_attempts => {
                    return retryable(Reason::Transport(Transport::Unprocessed { attempts }), None);
                }
                Attempt::Unprocessed => {
                    info!(
                        token_suffix = %token_suffix(&notification.device_token),
                        attempts,
                        "APNs did not process the request; sending it again on a new connection"
                    );
                }
            }
        }
    }

    async fn attempt(&self, notification: &ApnsNotification, payload: Bytes) -> Attempt {
        let connection = match self.pool.get().await {
            Ok(connection) => connection,
            Err(error) => {
                let reason = Reason::Transport(Transport::ConnectFailed {
                    message: error.to_string(),
                });
                return Attempt::Done(retryable(reason, None));
            }
        };
        let (mut sender, _permit) = connection.stream().await;
        let token = self.tokens.as_ref().map(ProviderTokens::current);
        let request = self.request(notification, token.as_ref(), payload);

        let exchange = async {
            let response = sender.try_send_request(request).await.map_err(|mut error| {
                let sent = error.take_message().is_none();
                (error.into_error(), sent)
            })?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|error| (error, true))?.to_bytes();
            Ok::<_, (hyper::Error, bool)>(Response::from_parts(parts, body))
        };
        let result = tokio::time::timeout(self.request_timeout, exchange).await;

        match result {
            Err(_elapsed) => {
                let timeout_ms = self.request_timeout.as_millis() as u64;
                Attempt::Done(retryable(Reason::Transport(Transport::Timeout { timeout_ms }), None))
            }
            Ok(Err((error, sent))) => self.transport_failure(&connection, &error, sent).await,
            Ok(Ok(response)) => Attempt::Done(self.classify(&connection, response, token.as_ref()).await),
        }
    }

    fn request(
        &self,
        notification: &ApnsNotification,
        token: Option<&IssuedToken>,
        payload: Bytes,
    ) -> Request<Full<Bytes>> {
        let authority = self.endpoint.authority().expect("validated endpoint has a host");
        let uri = format!("https://{authority}/3/device/{}", notification.device_token);
        let mut builder = Request::post(uri)
            .version(http::Version::HTTP_2)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            builder = builder.header(http::header::AUTHORIZATION, &*token.header_value);
        }
        for (name, value) in notification.headers() {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(payload))
            .expect("checked device token and header values form a valid request")
    }

    async fn transport_failure(&self, connection: &Connection, error: &hyper::Error, sent: bool) -> Attempt {
        let h2_error = find_h2_error(error);
        let refused = h2_error.is_some_and(|h2| h2.reason() == Some(h2::Reason::REFUSED_STREAM));
        // After a GOAWAY with NO_ERROR the server finishes every stream up to
        // its last stream id, so a stream that fails with that GOAWAY was
        // above it and never processed (RFC 9113, section 6.8).
        let graceful_go_away =
            h2_error.is_some_and(|h2| h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR));

        if !sent || refused || graceful_go_away {
            self.pool
                .retire(connection, "the server did not process a stream")
                .await;
            return Attempt::Unprocessed;
        }
        self.pool.retire(connection, "the connection failed").await;
        let message = error
            .source()
            .map_or_else(|| error.to_string(), |source| format!("{error}: {source}"));
        Attempt::Done(retryable(
            Reason::Transport(Transport::ConnectionLost { message }),
            None,
        ))
    }

    async fn classify(
        &self,
        connection: &Connection,
        response: Response<Bytes>,
        token: Option<&IssuedToken>,
    ) -> PushOutcome {
        let status = response.status().as_u16();
        if status == 200 {
            let id = response
                .headers()
                .get("apns-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            return PushOutcome::Delivered {
                platform: Platform::Apns,
                id,
            };
        }

        let wait = retry_after(response.headers(), self.clock.now());
        let (outcome, follow_up) = classify_error(status, response.body(), wait);
        match follow_up {
            FollowUp::None => outcome,
            FollowUp::CloseConnection => {
                self.pool.retire(connection, "APNs is closing the connection").await;
                outcome
            }
            FollowUp::ReplaceToken => self.replace_token(connection, token, outcome).await,
        }
    }

    /// Replaces the token APNs called expired and the connection that used it.
    async fn replace_token(
        &self,
        connection: &Connection,
        token: Option<&IssuedToken>,
        outcome: PushOutcome,
    ) -> PushOutcome {
        let (Some(tokens), Some(token)) = (&self.tokens, token) else {
            return outcome;
        };
        match tokens.replace_rejected(token) {
            Replacement::Replaced => {
                self.pool.retire(connection, "the provider token expired").await;
                outcome
            }
            Replacement::TooEarly { wait } => {
                info!(
                    generation = token.generation,
                    wait_secs = wait.as_secs(),
                    "APNs called a provider token younger than 20 minutes expired; check the clock"
                );
                match outcome {
                    PushOutcome::Retryable { platform, reason, .. } => PushOutcome::Retryable {
                        platform,
                        reason,
                        retry_after: Some(wait),
                    },
                    other => other,
                }
            }
        }
    }
}

fn find_h2_error(error: &hyper::Error) -> Option<&h2::Error> {
    let mut source = error.source();
    while let Some(current) = source {
        if let Some(h2_error) = current.downcast_ref::<h2::Error>() {
            return Some(h2_error);
        }
        source = current.source();
    }
    None
}

fn permanent(invalid: Invalid) -> PushOutcome {
    PushOutcome::Permanent {
        platform: Platform::Apns,
        reason: Reason::Invalid(invalid),
    }
}

fn retryable(reason: Reason, retry_after: Option<Duration>) -> PushOutcome {
    PushOutcome::Retryable {
        platform: Platform::Apns,
        reason,
        retry_after,
    }
}
