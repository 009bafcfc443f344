//! Thin clients for Apple Push Notification service (APNs) and Firebase Cloud
//! Messaging (FCM), written so that the only difference between a test and
//! production is the endpoint, the trust roots and the credentials.
//!
//! - [`apns`]: the provider API over HTTP/2 with token (ES256 JWT) or
//!   certificate authentication, long-lived connections and GOAWAY handling.
//! - [`fcm`]: the HTTP v1 `messages:send` API with an OAuth2 service-account
//!   token exchange.
//! - [`outcome`]: what a send means for the caller: delivered, retryable,
//!   permanent or token gone, with metric labels.
//! - [`ids`]: `apns-id`, collapse ids and collapse keys derived from an event id
//!   and an action's position, so that a replayed push replaces itself.
//! - [`config`]: the serde configuration of both clients.
//! - [`clock`]: the time source of token lifetimes, replaceable in tests.
//! - [`tls`]: the rustls client configuration with extra trust roots.
//!
//! # Why not an existing push crate
//!
//! - `a2` 0.10 hard-codes Apple's two hosts and the system trust roots, so it
//!   cannot talk to a stand-in server, and it maps error reasons onto a closed
//!   enum, dropping reasons it does not know.
//! - `fcm` 0.9 speaks FCM's legacy HTTP API, which Google shut down in 2024.
//!
//! Both clients are therefore small layers over well-kept crates: hyper (HTTP/2
//! with keep-alive pings) and rustls for APNs, reqwest for FCM, jsonwebtoken
//! for the ES256 and RS256 JWTs.
//!
//! # Why our own OAuth2 token exchange
//!
//! Google's service-account flow is one signed JWT posted to the key file's
//! `token_uri`. Checked against the versions current when this was written:
//! `gcp_auth` 0.12.7 honours `token_uri`, but builds its own HTTP client with
//! the system or webpki roots, so a custom trust root cannot be passed in;
//! `yup-oauth2` 12.1 honours `token_uri` and accepts a custom hyper client, but
//! decides expiry against the system wall clock, so refresh before expiry
//! cannot be tested under paused time, and it brings a second HTTP stack
//! beside reqwest. [`fcm::oauth`] does the exchange on the FCM client's own
//! reqwest client instead.

pub mod apns;
pub mod clock;
pub mod config;
pub mod fcm;
pub mod ids;
pub mod outcome;
mod retry_after;
pub mod tls;

pub use apns::{ApnsClient, ApnsNotification};
pub use clock::{Clock, SystemClock, TokioClock};
pub use config::{ApnsConfig, FcmConfig};
pub use fcm::{FcmClient, FcmMessage};
pub use outcome::{Platform, PushOutcome, Reason};
