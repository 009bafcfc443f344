use std::collections::BTreeMap;
use std::time::Duration;

use offload_push::fcm::{AndroidConfig, AndroidPriority, FcmNotification, FcmTarget};
use offload_push::ids::derive_ids;
use offload_schemas::{FcmAndroidConfig, FcmPush};
use serde_json::json;
use uuid::Uuid;

use super::*;

const TOKEN: &str = "fcm-registration-token-0001";

fn event_id() -> Uuid {
    Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap()
}

fn full_push() -> FcmPush {
    FcmPush {
        token: Some(TOKEN.into()),
        topic: None,
        condition: None,
        notification: Some(offload_schemas::FcmNotification {
            title: Some("New comment".into()),
            body: Some("Ada: nice!".into()),
            image: Some("https://img.example/42.png".into()),
        }),
        data: BTreeMap::from([
            ("post_id".to_string(), "42".to_string()),
            ("kind".to_string(), "comment".to_string()),
        ]),
        android: Some(FcmAndroidConfig {
            priority: Some(offload_schemas::AndroidPriority::High),
            ttl_secs: Some(86_400),
            collapse_key: Some("comments".into()),
            channel_id: Some("social".into()),
        }),
        apns_override_json: Some(r#"{"headers":{"apns-priority":"5"}}"#.into()),
        webpush_override_json: Some(r#"{"headers":{"TTL":"60"}}"#.into()),
    }
}

fn token_push() -> FcmPush {
    FcmPush {
        token: Some(TOKEN.into()),
        ..FcmPush::default()
    }
}

#[test]
fn every_field_is_converted() {
    let converted = message(&full_push(), event_id(), 1).unwrap();

    let expected = FcmMessage {
        target: FcmTarget::Token(TOKEN.into()),
        notification: Some(FcmNotification {
            title: Some("New comment".into()),
            body: Some("Ada: nice!".into()),
            image: Some("https://img.example/42.png".into()),
        }),
        data: BTreeMap::from([
            ("post_id".to_string(), "42".to_string()),
            ("kind".to_string(), "comment".to_string()),
        ]),
        android: Some(AndroidConfig {
            priority: Some(AndroidPriority::High),
            ttl: Some(Duration::from_secs(86_400)),
            collapse_key: Some("comments".into()),
            channel_id: Some("social".into()),
        }),
        apns: Some(json!({"headers": {"apns-priority": "5"}})),
        webpush: Some(json!({"headers": {"TTL": "60"}})),
    };
    assert_eq!(converted, expected);
}

#[test]
fn token_only_push_has_no_optional_sections() {
    let converted = message(&token_push(), event_id(), 0).unwrap();

    assert_eq!(converted, FcmMessage::new(FcmTarget::Token(TOKEN.into())));
}

#[test]
fn topic_and_condition_targets_are_converted() {
    let topic = FcmPush {
        topic: Some("news".into()),
        ..FcmPush::default()
    };
    let condition = FcmPush {
        condition: Some("'cats' in topics".into()),
        ..FcmPush::default()
    };

    assert_eq!(
        message(&topic, event_id(), 0).unwrap().target,
        FcmTarget::Topic("news".into())
    );
    assert_eq!(
        message(&condition, event_id(), 0).unwrap().target,
        FcmTarget::Condition("'cats' in topics".into())
    );
}

#[test]
fn target_needs_exactly_one_field() {
    let two = FcmPush {
        topic: Some("news".into()),
        ..token_push()
    };

    for push in [FcmPush::default(), two] {
        let error = message(&push, event_id(), 0).unwrap_err();

        assert!(matches!(error, PushError::Invalid { field: "target", .. }), "{error}");
    }
}

#[test]
fn missing_collapse_key_is_derived() {
    let push = FcmPush {
        android: Some(FcmAndroidConfig::default()),
        ..token_push()
    };

    let converted = message(&push, event_id(), 3).unwrap();
    let replayed = message(&push, event_id(), 3).unwrap();

    let android = converted.android.unwrap();
    assert_eq!(android.collapse_key, Some(derive_ids(event_id(), 3).collapse_id));
    assert_eq!(replayed.android.unwrap().collapse_key, android.collapse_key);
}

#[test]
fn every_android_priority_is_converted() {
    let expected = [
        (offload_schemas::AndroidPriority::Unknown, None),
        (offload_schemas::AndroidPriority::Normal, Some(AndroidPriority::Normal)),
        (offload_schemas::AndroidPriority::High, Some(AndroidPriority::High)),
    ];
    assert_eq!(expected.len(), offload_schemas::AndroidPriority::SYMBOLS.len());

    for (symbol, priority) in expected {
        let push = FcmPush {
            android: Some(FcmAndroidConfig {
                priority: Some(symbol),
                ..FcmAndroidConfig::default()
            }),
            ..token_push()
        };

        let converted = message(&push, event_id(), 0).unwrap();

        assert_eq!(converted.android.unwrap().priority, priority, "{symbol:?}");
    }
}

#[test]
fn unknown_android_priority_is_named_for_the_metric() {
    let push = FcmPush {
        android: Some(FcmAndroidConfig {
            priority: Some(offload_schemas::AndroidPriority::Unknown),
            ..FcmAndroidConfig::default()
        }),
        ..token_push()
    };

    assert_eq!(defaulted_enum_fields(&push), vec!["fcm_push.android.priority"]);
    assert!(defaulted_enum_fields(&full_push()).is_empty());
}

#[test]
fn negative_ttl_is_invalid() {
    let push = FcmPush {
        android: Some(FcmAndroidConfig {
            ttl_secs: Some(-1),
            ..FcmAndroidConfig::default()
        }),
        ..token_push()
    };

    let error = message(&push, event_id(), 0).unwrap_err();

    assert!(
        matches!(
            error,
            PushError::Invalid {
                field: "android.ttl_secs",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn override_objects_must_be_json_objects() {
    let apns = FcmPush {
        apns_override_json: Some("\"text\"".into()),
        ..token_push()
    };
    let webpush = FcmPush {
        webpush_override_json: Some("{broken".into()),
        ..token_push()
    };

    let apns_error = message(&apns, event_id(), 0).unwrap_err();
    let webpush_error = message(&webpush, event_id(), 0).unwrap_err();

    assert!(
        matches!(
            apns_error,
            PushError::Invalid {
                field: "apns_override_json",
                ..
            }
        ),
        "{apns_error}"
    );
    assert!(
        matches!(
            webpush_error,
            PushError::Invalid {
                field: "webpush_override_json",
                ..
            }
        ),
        "{webpush_error}"
    );
}
