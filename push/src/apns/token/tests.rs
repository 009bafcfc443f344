use std::io::Write;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
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

const MINUTE: Duration = Duration::from_secs(60);

/// A multiple of the 50-minute refresh interval, in seconds since the epoch.
const ON_SCHEDULE_SECS: u64 = 1_800_000_000;

fn tokens(path: &Path) -> ProviderTokens {
    tokens_started_at(path, Duration::ZERO)
}

/// Tokens on a clock that starts `offset` after a scheduled switch.
fn tokens_started_at(path: &Path, offset: Duration) -> ProviderTokens {
    ProviderTokens::from_key_file(
        path,
        "KEY1234567",
        "TEAM123456",
        50 * MINUTE,
        Arc::new(TokioClock::starting_at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(ON_SCHEDULE_SECS) + offset,
        )),
    )
    .unwrap()
}

fn iat_minutes(token: &IssuedToken) -> u64 {
    let secs = token
        .issued_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (secs - ON_SCHEDULE_SECS) / 60
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

#[tokio::test(start_paused = true)]
async fn processes_sharing_a_key_sign_the_same_token() {
    let (file, _) = key_files();
    let first_process = tokens_started_at(file.path(), 3 * MINUTE);
    let restarted_process = tokens_started_at(file.path(), 47 * MINUTE);

    let first = first_process.current();
    let restarted = restarted_process.current();

    assert_eq!(first.header_value, restarted.header_value);
    assert_eq!(iat_minutes(&first), 0);
}

#[tokio::test(start_paused = true)]
async fn token_switches_at_multiples_of_the_refresh_interval() {
    let (file, _) = key_files();
    let tokens = tokens_started_at(file.path(), 30 * MINUTE);
    let other_process = tokens_started_at(file.path(), 30 * MINUTE);

    let started = tokens.current();
    tokio::time::advance(19 * MINUTE).await;
    let before_switch = tokens.current();
    tokio::time::advance(MINUTE).await;
    let after_switch = tokens.current();
    let other_after_switch = other_process.current();

    assert_eq!(
        iat_minutes(&started),
        0,
        "a process started mid-interval uses the interval's token"
    );
    assert_eq!(before_switch, started);
    assert_eq!(iat_minutes(&after_switch), 50);
    assert_eq!(after_switch.header_value, other_after_switch.header_value);
}

#[tokio::test(start_paused = true)]
async fn replacement_hands_over_to_the_schedule() {
    let (file, _) = key_files();
    let tokens = tokens(file.path());
    let first = tokens.current();

    tokio::time::advance(35 * MINUTE).await;
    let replaced = tokens.replace_rejected(&first);
    let replacement = tokens.current();
    tokio::time::advance(14 * MINUTE).await;
    let before_switch = tokens.current();
    tokio::time::advance(MINUTE).await;
    let at_switch = tokens.current();

    assert_eq!(replaced, Replacement::Replaced);
    assert_eq!(
        iat_minutes(&replacement),
        30,
        "issued 20 minutes before the switch at 50 minutes"
    );
    assert_eq!(before_switch, replacement);
    assert_eq!(iat_minutes(&at_switch), 50);
}

#[tokio::test(start_paused = true)]
async fn late_replacement_lasts_to_next_switch() {
    let (file, _) = key_files();
    let tokens = ProviderTokens::from_key_file(
        file.path(),
        "KEY1234567",
        "TEAM123456",
        30 * MINUTE,
        Arc::new(TokioClock::starting_at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(ON_SCHEDULE_SECS),
        )),
    )
    .unwrap();
    let first = tokens.current();

    tokio::time::advance(20 * MINUTE).await;
    tokens.replace_rejected(&first);
    let replacement = tokens.current();
    tokio::time::advance(10 * MINUTE).await;
    let at_first_switch = tokens.current();
    tokio::time::advance(20 * MINUTE).await;
    let at_refresh_age = tokens.current();
    tokio::time::advance(10 * MINUTE).await;
    let at_second_switch = tokens.current();

    assert_eq!(iat_minutes(&replacement), 20);
    assert_eq!(
        at_first_switch, replacement,
        "the switch at 30 minutes comes 10 minutes after it"
    );
    assert_eq!(
        iat_minutes(&at_refresh_age),
        40,
        "20 minutes before the switch at 60 minutes"
    );
    assert_eq!(iat_minutes(&at_second_switch), 60);
}

#[tokio::test(start_paused = true)]
async fn replacement_is_shared_by_processes_rejected_together() {
    let (file, _) = key_files();
    let first_process = tokens(file.path());
    let second_process = tokens(file.path());
    let first_rejected = first_process.current();
    let second_rejected = second_process.current();

    tokio::time::advance(31 * MINUTE).await;
    first_process.replace_rejected(&first_rejected);
    tokio::time::advance(Duration::from_secs(20)).await;
    second_process.replace_rejected(&second_rejected);

    let first = first_process.current();
    let second = second_process.current();
    assert_eq!(iat_minutes(&first), 30);
    assert_eq!(first.header_value, second.header_value);
}
