use super::*;

fn parse(toml_text: &str) -> Result<ApnsConfig, serde_json::Error> {
    // The worker reads TOML through figment; JSON exercises the same serde rules.
    serde_json::from_str(toml_text)
}

#[test]
fn apns_config_reads_token_auth_with_defaults() {
    let config =
        parse(r#"{"auth": {"method": "token", "key_path": "/k.p8", "key_id": "ABC123DEFG", "team_id": "TEAM123456"}}"#)
            .unwrap();

    config.validate().unwrap();
    assert_eq!(config.endpoint_uri().unwrap().host(), Some("api.push.apple.com"));
    assert_eq!(config.token_refresh_secs, 3000);
    assert_eq!(config.connections, 1);
}

#[test]
fn apns_config_rejects_unknown_keys() {
    let error = parse(
        r#"{"auth": {"method": "certificate", "certificate_path": "/c", "private_key_path": "/k"}, "timeout": 5}"#,
    )
    .unwrap_err();

    assert!(error.to_string().contains("unknown field `timeout`"), "{error}");
}

#[test]
fn apns_config_rejects_unknown_auth_keys() {
    let error = parse(r#"{"auth": {"method": "token", "key_path": "/k", "key_id": "A", "team_id": "T", "kid": "x"}}"#)
        .unwrap_err();

    assert!(error.to_string().contains("unknown field `kid`"), "{error}");
}

#[test]
fn apns_config_rejects_malformed_ids() {
    for (key_id, team_id, bad_key) in [
        ("ABC123DEF", "TEAM123456", "apns.auth.key_id"),
        ("abc123defg", "TEAM123456", "apns.auth.key_id"),
        ("ABC123DEFG", "", "apns.auth.team_id"),
        ("ABC123DEFG", "TEAM-12345", "apns.auth.team_id"),
    ] {
        let config = parse(&format!(
            r#"{{"auth": {{"method": "token", "key_path": "/k.p8", "key_id": "{key_id}", "team_id": "{team_id}"}}}}"#
        ))
        .unwrap();

        let error = config.validate().unwrap_err();

        assert_eq!(error.key, bad_key, "{key_id} {team_id}: {error}");
        assert!(
            error.to_string().contains("10 upper-case letters and digits"),
            "{error}"
        );
    }
}

#[test]
fn apns_config_rejects_refresh_outside_apples_window() {
    let mut config =
        parse(r#"{"auth": {"method": "token", "key_path": "/k", "key_id": "A", "team_id": "T"}}"#).unwrap();

    config.token_refresh_secs = 600;
    let too_often = config.validate().unwrap_err();
    config.token_refresh_secs = 3600;
    let too_late = config.validate().unwrap_err();

    assert_eq!(too_often.key, "apns.token_refresh_secs");
    assert_eq!(too_late.key, "apns.token_refresh_secs");
}

#[test]
fn apns_config_requires_https_endpoint() {
    let mut config =
        parse(r#"{"auth": {"method": "token", "key_path": "/k", "key_id": "A", "team_id": "T"}}"#).unwrap();

    config.endpoint = "http://127.0.0.1:8080".into();
    let error = config.validate().unwrap_err();

    assert_eq!(error.key, "apns.endpoint");
    assert!(error.reason.contains("http://127.0.0.1:8080"), "{error}");
}

#[test]
fn fcm_config_reads_defaults() {
    let config: FcmConfig = serde_json::from_str(r#"{"service_account_key_path": "/sa.json"}"#).unwrap();

    config.validate().unwrap();
    assert_eq!(config.base_url, "https://fcm.googleapis.com");
    assert_eq!(config.token_refresh_margin_secs, 300);
}
