//! The provider token (ES256 JWT) shared by every connection of a client.
//!
//! Apple's rules ("Establishing a token-based connection to APNs", Apple
//! Developer documentation, read December 2026): the header carries `alg`
//! ES256 and the key id `kid`, the claims carry the team id `iss` and the
//! issue time `iat` in seconds; APNs rejects a token older than one hour
//! (ExpiredProviderToken) and one replaced more often than every 20 minutes
//! (TooManyProviderTokenUpdates). The same token may be used by many provider
//! servers at once.
//!
//! # One token for every process
//!
//! Apple does not say whether the 20-minute limit counts per connection or per
//! team, and providers report TooManyProviderTokenUpdates when several servers
//! of one team sign their own tokens. So that a scaling or crash-looping
//! deployment does not update the token on every start, the token is a pure
//! function of the key, the ids and the time:
//!
//! - `iat` is the current time floored to a multiple of the refresh interval
//!   (`token_refresh_secs`) counted from the UNIX epoch, so all processes with
//!   the same interval switch tokens at the same instants;
//! - the ECDSA signature is deterministic (RFC 6979, as the `p256` crate signs),
//!   so equal claims give byte-identical tokens.
//!
//! A token replaced after ExpiredProviderToken is off the schedule; the
//! schedule resumes once its next `iat` is 20 minutes newer than the
//! replacement's (see `off_schedule_iat`).
//!
//! NOTE: processes whose clocks differ by a few seconds use different tokens
//! for those seconds around each switch, and processes configured with
//! different `token_refresh_secs` never agree on a token.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use serde::Serialize;
use tracing::info;

use crate::clock::Clock;
use crate::config::MIN_TOKEN_REFRESH_SECS;

/// Granularity of an off-schedule token's `iat`, so that processes replacing
/// a token in the same minute sign the same one.
const REPLACEMENT_GRANULARITY_SECS: u64 = 60;

/// Errors of loading the signing key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenKeyError {
    /// The key file cannot be read.
    #[error("cannot read the APNs signing key `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a PKCS#8 PEM P-256 key.
    #[error("`{path}` is not an ES256 (P-256) key in PKCS#8 PEM; use the .p8 file Apple issued")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The PKCS#8 decoder's error.
        #[source]
        source: p256::pkcs8::Error,
    },
}

/// A signed token and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The `authorization` header value: `bearer <jwt>`.
    pub header_value: Arc<str>,
    /// The `iat` claim, in whole seconds.
    pub issued_at: SystemTime,
    /// Counts the tokens this signer issued, starting at 1.
    pub generation: u64,
}

/// What [`ProviderTokens::replace_rejected`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// A new token is in place (made now or by a concurrent caller).
    Replaced,
    /// The rejected token is younger than 20 minutes, so replacing it now
    /// would trip TooManyProviderTokenUpdates; this is how long to wait.
    TooEarly {
        /// Time until the token may be replaced.
        wait: Duration,
    },
}

/// Signs provider tokens and shares the current one.
pub struct ProviderTokens {
    key: SigningKey,
    key_id: String,
    team_id: String,
    refresh_after: Duration,
    clock: Arc<dyn Clock>,
    current: Mutex<Option<IssuedToken>>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing key stays out of logs.
        f.debug_struct("ProviderTokens")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct JwtHeader<'a> {
    alg: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ProviderTokens {
    /// Loads the `.p8` key at `key_path`. Tokens are replaced every
    /// `refresh_after`, at multiples of it since the UNIX epoch.
    pub fn from_key_file(
        key_path: &Path,
        key_id: &str,
        team_id: &str,
        refresh_after: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<ProviderTokens, TokenKeyError> {
        let pem = std::fs::read_to_string(key_path).map_err(|source| TokenKeyError::Read {
            path: key_path.to_path_buf(),
            source,
        })?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|source| TokenKeyError::Parse {
            path: key_path.to_path_buf(),
            source,
        })?;
        Ok(ProviderTokens {
            key,
            key_id: key_id.to_string(),
            team_id: team_id.to_string(),
            refresh_after,
            clock,
            current: Mutex::new(None),
        })
    }

    /// The current token, signing the scheduled one first when there is none
    /// or the schedule has moved at least 20 minutes past the current one.
    pub fn current(&self) -> IssuedToken {
        let mut current = self.current.lock().expect("token lock is never poisoned");
        let now = unix_secs(self.clock.now());
        let Some(token) = &*current else {
            return self.sign_into(&mut current, self.scheduled_iat(now));
        };

        let iat = unix_secs(token.issued_at);
        let scheduled = self.scheduled_iat(now);
        if scheduled >= iat + MIN_TOKEN_REFRESH_SECS {
            self.sign_into(&mut current, scheduled)
        } else if now.saturating_sub(iat) >= self.refresh_after.as_secs() {
            // Only a replacement signed off the schedule gets here: the next
            // scheduled `iat` is too close to it, and it has reached the
            // refresh age.
            self.sign_into(&mut current, self.off_schedule_iat(now, iat))
        } else {
            token.clone()
        }
    }

    /// Replaces the token APNs rejected as expired, unless another caller has
    /// already replaced it or it is too young to be replaced.
    pub fn replace_rejected(&self, rejected: &IssuedToken) -> Replacement {
        let mut current = self.current.lock().expect("token lock is never poisoned");
        let now = self.clock.now();
        let Some(token) = &*current else {
            return Replacement::Replaced;
        };
        if token.generation != rejected.generation {
            return Replacement::Replaced;
        }

        let minimum = Duration::from_secs(MIN_TOKEN_REFRESH_SECS);
        let token_age = age(token, now);
        if token_age < minimum {
            return Replacement::TooEarly {
                wait: minimum - token_age,
            };
        }
        let iat = self.off_schedule_iat(unix_secs(now), unix_secs(token.issued_at));
        self.sign_into(&mut current, iat);
        Replacement::Replaced
    }

    /// Computes the `iat` every process with this refresh interval uses at `now`.
    fn scheduled_iat(&self, now: u64) -> u64 {
        let interval = self.refresh_after.as_secs().max(1);
        now - now % interval
    }

    /// Returns the `iat` of a token signed off the schedule at `now`, which
    /// callers keep at least 20 minutes after `previous_iat`. Once that time
    /// has passed, the `iat` is 20 minutes before the next scheduled one, so
    /// the token hands over to the schedule and every process replacing a
    /// token then signs the same one. Otherwise it is the current minute.
    fn off_schedule_iat(&self, now: u64, previous_iat: u64) -> u64 {
        let next_scheduled = self.scheduled_iat(now) + self.refresh_after.as_secs();
        let hand_over = next_scheduled - MIN_TOKEN_REFRESH_SECS;
        let earliest = previous_iat + MIN_TOKEN_REFRESH_SECS;
        if (earliest..=now).contains(&hand_over) {
            hand_over
        } else {
            (now - now % REPLACEMENT_GRANULARITY_SECS).max(earliest)
        }
    }

    fn sign_into(&self, slot: &mut Option<IssuedToken>, iat: u64) -> IssuedToken {
        let jwt = self.sign(iat);
        let generation = slot.as_ref().map_or(1, |token| token.generation + 1);
        let token = IssuedToken {
            header_value: Arc::from(format!("bearer {jwt}")),
            issued_at: SystemTime::UNIX_EPOCH + Duration::from_secs(iat),
            generation,
        };
        info!(key_id = %self.key_id, generation, iat, "signed a new APNs provider token");
        *slot = Some(token.clone());
        token
    }

    /// Signs the JWT with a deterministic ECDSA signature (RFC 6979), so that
    /// the same claims give the same token in every process.
    fn sign(&self, iat: u64) -> String {
        let header = JwtHeader {
            alg: "ES256",
            kid: &self.key_id,
        };
        let claims = Claims {
            iss: &self.team_id,
            iat,
        };
        let header = serde_json::to_vec(&header).expect("a JWT header serializes");
        let claims = serde_json::to_vec(&claims).expect("JWT claims serialize");
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
        // JWS (RFC 7515) wants ES256 signatures as the 64 bytes R || S.
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Age of a token; zero when the clock went back before its issue time.
fn age(token: &IssuedToken, now: SystemTime) -> Duration {
    now.duration_since(token.issued_at).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
