//! The provider token (ES256 JWT) shared by every connection of a client.
//!
//! Apple's rules ("Establishing a token-based connection to APNs", Apple
//! Developer documentation, read December 2026): the header carries `alg`
//! ES256 and the key id `kid`, the claims carry the team id `iss` and the
//! issue time `iat` in seconds; APNs rejects a token older than one hour
//! (ExpiredProviderToken) and one replaced more often than every 20 minutes
//! (TooManyProviderTokenUpdates).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tracing::info;

use crate::clock::Clock;
use crate::config::MIN_TOKEN_REFRESH_SECS;

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
    /// The file is not a PKCS#8 PEM EC key.
    #[error("`{path}` is not an ES256 key; use the .p8 file Apple issued")]
    Parse {
        /// The file.
        path: PathBuf,
        /// jsonwebtoken's error.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// A signed token and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The `authorization` header value: `bearer <jwt>`.
    pub header_value: Arc<str>,
    /// The `iat` claim.
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
    key: EncodingKey,
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
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ProviderTokens {
    /// Loads the `.p8` key at `key_path`.
    pub fn from_key_file(
        key_path: &Path,
        key_id: &str,
        team_id: &str,
        refresh_after: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<ProviderTokens, TokenKeyError> {
        let pem = std::fs::read(key_path).map_err(|source| TokenKeyError::Read {
            path: key_path.to_path_buf(),
            source,
        })?;
        let key = EncodingKey::from_ec_pem(&pem).map_err(|source| TokenKeyError::Parse {
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

    /// The current token, signing a new one first when there is none or the
    /// current one has reached the refresh age.
    pub fn current(&self) -> IssuedToken {
        let mut current = self.current.lock().expect("token lock is never poisoned");
        let now = self.clock.now();
        match &*current {
            Some(token) if age(token, now) < self.refresh_after => token.clone(),
            _ => self.sign_into(&mut current, now),
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
        self.sign_into(&mut current, now);
        Replacement::Replaced
    }

    fn sign_into(&self, slot: &mut Option<IssuedToken>, now: SystemTime) -> IssuedToken {
        let iat = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: &self.team_id,
            iat,
        };
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key).expect("an ES256 key loaded from PEM signs");

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
}

/// Age of a token; zero when the clock went back before its issue time.
fn age(token: &IssuedToken, now: SystemTime) -> Duration {
    now.duration_since(token.issued_at).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
