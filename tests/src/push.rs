//! Push settings of a worker under test: `[apns]` and `[fcm]` tables that
//! point at stand-in servers running in the test process.

use std::path::Path;

use offload_standins::StandIns;

/// Renders the `[apns]` and `[fcm]` tables of a worker that sends to
/// `stand_ins`, trusting only their CA.
pub fn push_tables(stand_ins: &StandIns) -> String {
    let credentials = &stand_ins.credentials;
    let ca = toml_path(&credentials.ca_certificate);
    format!(
        r#"
[apns]
endpoint = "{apns_url}"
public_roots = false
extra_root_certificate_paths = [{ca}]
auth = {{ method = "token", key_path = {key}, key_id = "{key_id}", team_id = "{team_id}" }}

[fcm]
service_account_key_path = {service_account}
base_url = "{fcm_url}"
public_roots = false
extra_root_certificate_paths = [{ca}]
"#,
        apns_url = stand_ins.apns_url(),
        key = toml_path(&credentials.apns_key),
        key_id = credentials.apns_key_id,
        team_id = credentials.apns_team_id,
        service_account = toml_path(&credentials.fcm_service_account),
        fcm_url = stand_ins.fcm_url(),
    )
}

/// Returns a path as a TOML literal string. Temporary folders contain no `'`.
fn toml_path(path: &Path) -> String {
    let text = path.display().to_string();
    assert!(!text.contains('\''), "path {text} cannot be a TOML literal string");
    format!("'{text}'")
}
