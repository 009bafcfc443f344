use std::io::Write;

use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;

use super::*;
use crate::clock::TokioClock;

/// A P-256 key in PKCS#8 PEM, generated for these tests only.
fn key_files() -> (tempfile::NamedTempFile, String) {
    let pair = offload_standins::keys::generate_es256();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pair.private_key_pem.as_bytes()).unwrap();
    (file, pair.public_key_pem)
}

fn tokens(path: &Path) -> ProviderTokens {
    ProviderTokens::from_key_file(
        path,
        "KEY1234567",
        "TEAM123456",
        Duration::from_secs(50 * 60),
        // Whole seconds, so that ages match the seconds of `iat` exactly.
        Arc::new(TokioClock::starting_at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )),
    )
    .unwrap()
}

#[derive(Deserialize)]
struct DecodedClaims {
    iss: String,
    iat: u64,
}

#[tokio::test(start_paused = true)]
async fn token_is_reused_until_the_refresh_age() {
    let (file, _) = key_files();
    let tokens = tokens(file.path());

    let first = tokens.current();
    tokio::time::advance(Duration::from_secs(49 * 60)).await;
    let before_refresh = tokens.current();
    tokio::time::advance(Duration::from_secs(60)).await;
    let after_refresh = tokens.current();

    assert_eq!(first, before_refresh);
    assert_eq!(after_refresh.generation, 2);
    assert_eq!(
        after_refresh.issued_at.duration_since(first.issued_at).unwrap(),
        Duration::from_secs(50 * 60)
    );
}

#[tokio::test(start_paused = true)]
async fn token_is_signed_with_key_id_and_team() {
    let (file, public_key_pem) = key_files();
    let tokens = tokens(file.path());

    let token = tokens.current();
    let jwt = token.header_value.strip_prefix("bearer ").unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let key = DecodingKey::from_ec_pem(public_key_pem.as_bytes()).unwrap();
    let claims = jsonwebtoken::decode::<DecodedClaims>(jwt, &key, &validation)
        .unwrap()
        .claims;

    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
    assert_eq!(claims.iss, "TEAM123456");
    assert_eq!(
        SystemTime::UNIX_EPOCH + Duration::from_secs(claims.iat),
        token.issued_at
    );
}

#[tokio::test(start_paused = true)]
async fn rejected_token_is_replaced_only_after_20_minutes() {
    let (file, _) = key_files();
    let tokens = tokens(file.path());
    let first = tokens.current();

    tokio::time::advance(Duration::from_secs(15 * 60)).await;
    let early = tokens.replace_rejected(&first);
    let still_first = tokens.current();
    tokio::time::advance(Duration::from_secs(5 * 60)).await;
    let on_time = tokens.replace_rejected(&first);
    let second = tokens.current();
    let repeated = tokens.replace_rejected(&first);

    assert_eq!(
        early,
        Replacement::TooEarly {
            wait: Duration::from_secs(5 * 60)
        }
    );
    assert_eq!(still_first, first);
    assert_eq!(on_time, Replacement::Replaced);
    assert_eq!(second.generation, 2);
    assert_eq!(repeated, Replacement::Replaced);
    assert_eq!(
        tokens.current(),
        second,
        "a stale rejection must not replace the new token"
    );
}
