use offload_schemas::samples::{full_apns_push, full_fcm_push, typical_event};
use offload_schemas::{ApnsAlert, ApnsPush, ApnsPushType, CassandraWrite, FcmPush};

use super::*;

fn event_with(action: impl Into<Action>) -> DispatchEvent {
    DispatchEvent {
        actions: vec![
            Action::CassandraWrite(CassandraWrite::new("first", Vec::new())),
            action.into(),
        ],
        ..typical_event()
    }
}

fn apns_with_body_bytes(push_type: ApnsPushType, bytes: usize) -> ApnsPush {
    ApnsPush {
        device_token: "ab".into(),
        topic: "com.example".into(),
        push_type,
        alert: Some(ApnsAlert {
            body: Some("x".repeat(bytes)),
            ..ApnsAlert::default()
        }),
        ..ApnsPush::default()
    }
}

#[test]
fn typical_and_full_events_are_valid() {
    assert_eq!(validate_event(&typical_event()), Ok(()));
    assert_eq!(validate_event(&event_with(full_apns_push())), Ok(()));
    assert_eq!(validate_event(&event_with(full_fcm_push())), Ok(()));
}

#[test]
fn empty_entity_key_names_entity_key() {
    let event = DispatchEvent {
        entity_key: String::new(),
        ..typical_event()
    };

    let error = validate_event(&event).unwrap_err();

    assert_eq!(error, ValidationError::EmptyEntityKey);
    assert_eq!(error.field(), "entity_key");
    assert!(error.to_string().contains("`entity_key`"), "{error}");
}

#[test]
fn empty_action_list_names_actions() {
    let event = DispatchEvent {
        actions: Vec::new(),
        ..typical_event()
    };

    let error = validate_event(&event).unwrap_err();

    assert_eq!(error.field(), "actions");
    assert!(error.to_string().contains("`actions` is empty"), "{error}");
}

#[test]
fn apns_payload_over_4096_bytes_names_the_action() {
    // The payload adds {"aps":{"alert":{"body":""}}}, 29 bytes, to the body.
    let fits = event_with(apns_with_body_bytes(ApnsPushType::Alert, 4096 - 29));
    let over = event_with(apns_with_body_bytes(ApnsPushType::Alert, 4096 - 28));

    let error = validate_event(&over).unwrap_err();

    assert_eq!(validate_event(&fits), Ok(()));
    assert!(
        matches!(
            error,
            ValidationError::PayloadTooLarge {
                size: 4097,
                limit: 4096,
                provider: "APNs",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.field(), "actions[1]");
}

#[test]
fn voip_payload_may_reach_5120_bytes() {
    let fits = event_with(apns_with_body_bytes(ApnsPushType::Voip, 5120 - 29));
    let over = event_with(apns_with_body_bytes(ApnsPushType::Voip, 5120 - 28));

    let error = validate_event(&over).unwrap_err();

    assert_eq!(validate_event(&fits), Ok(()));
    assert!(
        matches!(
            error,
            ValidationError::PayloadTooLarge {
                size: 5121,
                limit: 5120,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn fcm_payload_over_4096_bytes_names_the_action() {
    let push = FcmPush {
        token: Some("t".into()),
        data: [("blob".to_string(), "x".repeat(4096))].into(),
        ..FcmPush::default()
    };

    let error = validate_event(&event_with(push)).unwrap_err();

    assert!(
        matches!(
            error,
            ValidationError::PayloadTooLarge {
                provider: "FCM",
                limit: 4096,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.field(), "actions[1]");
}

#[test]
fn fcm_reserved_data_keys_name_the_key() {
    for key in ["from", "message_type", "google.sent_time", "gcm.notification"] {
        let push = FcmPush {
            token: Some("t".into()),
            data: [(key.to_string(), "v".to_string())].into(),
            ..FcmPush::default()
        };

        let error = validate_event(&event_with(push)).unwrap_err();

        assert_eq!(error.field(), format!("actions[1].data.{key}"), "{error}");
    }
}

#[test]
fn collapse_id_over_64_bytes_names_collapse_id() {
    let fits = ApnsPush {
        collapse_id: Some("c".repeat(64)),
        ..full_apns_push()
    };
    let over = ApnsPush {
        collapse_id: Some("c".repeat(65)),
        ..full_apns_push()
    };

    let error = validate_event(&event_with(over)).unwrap_err();

    assert_eq!(validate_event(&event_with(fits)), Ok(()));
    assert!(
        matches!(error, ValidationError::CollapseIdTooLong { len: 65, .. }),
        "{error:?}"
    );
    assert_eq!(error.field(), "actions[1].collapse_id");
}

#[test]
fn more_than_one_fcm_target_names_the_second() {
    let push = FcmPush {
        token: Some("t".into()),
        condition: Some("'a' in topics".into()),
        ..FcmPush::default()
    };

    let error = validate_event(&event_with(push)).unwrap_err();

    assert_eq!(error.field(), "actions[1].condition");
    assert!(error.to_string().contains("found token and condition"), "{error}");
}

#[test]
fn fcm_push_without_target_names_token() {
    let error = validate_event(&event_with(FcmPush::default())).unwrap_err();

    assert_eq!(error.field(), "actions[1].token");
    assert!(error.to_string().contains("found none"), "{error}");
}

#[test]
fn non_object_custom_data_names_field() {
    let push = ApnsPush {
        custom_data_json: Some("[1, 2]".into()),
        ..full_apns_push()
    };

    let error = validate_event(&event_with(push)).unwrap_err();

    assert_eq!(error.field(), "actions[1].custom_data_json");
}

#[test]
fn nested_collection_names_the_element() {
    let write = CassandraWrite::new(
        "nested",
        vec![
            CqlValue::Int(1),
            CqlValue::List(vec![CqlValue::Int(2), CqlValue::Set(Vec::new())]),
        ],
    );

    let error = validate_event(&event_with(write)).unwrap_err();

    assert_eq!(error.field(), "actions[1].values[1][1]");
    assert!(
        error.to_string().contains("a set cannot be a collection element"),
        "{error}"
    );
}

fn raw_write(cql: &str) -> CassandraWrite {
    CassandraWrite {
        cql: Some(cql.into()),
        ..CassandraWrite::new("raw_label", Vec::new())
    }
}

#[test]
fn raw_cql_must_be_dml() {
    let insert = raw_write("INSERT INTO ks.t (k, v) VALUES (?, 'DROP TABLE x')");
    validate_event(&event_with(insert)).unwrap();

    for (cql, found) in [
        ("DROP TABLE ks.t", "starts with `DROP`"),
        ("", "empty"),
        (
            "BEGIN BATCH INSERT INTO ks.t (k) VALUES (1); DROP TABLE ks.t; APPLY BATCH",
            "`DROP`",
        ),
        ("SELECT * FROM ks.t", "starts with `SELECT`"),
    ] {
        let error = validate_event(&event_with(raw_write(cql))).unwrap_err();

        assert_eq!(error.field(), "actions[1].cql", "{cql}");
        assert!(error.to_string().contains(found), "{cql}: {error}");
    }
}
