use offload_push::apns::{Alert, InterruptionLevel, Priority, PushType};
use offload_push::ids::derive_ids;
use offload_schemas::{ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType};
use serde_json::json;
use uuid::Uuid;

use super::*;

const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn event_id() -> Uuid {
    Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap()
}

fn full_push() -> ApnsPush {
    ApnsPush {
        device_token: TOKEN.into(),
        topic: "com.example.photos".into(),
        push_type: ApnsPushType::Background,
        priority: Some(ApnsPriority::PrioritizePower),
        expiration_epoch_secs: Some(1_733_400_000),
        collapse_id: Some("likes-42".into()),
        apns_id: Some(Uuid::from_u128(0xabcdef)),
        alert: Some(ApnsAlert {
            title: Some("New like".into()),
            subtitle: Some("On your photo".into()),
            body: Some("Ada liked your photo".into()),
            launch_image: Some("launch.png".into()),
            title_loc_key: Some("LIKE_TITLE".into()),
            title_loc_args: vec!["Ada".into()],
            subtitle_loc_key: Some("LIKE_SUBTITLE".into()),
            subtitle_loc_args: vec!["photo".into(), "42".into()],
            loc_key: Some("LIKE_BODY".into()),
            loc_args: vec!["Ada".into(), "photo".into()],
        }),
        badge: Some(3),
        sound: Some("chime.caf".into()),
        content_available: true,
        mutable_content: true,
        thread_id: Some("post-42".into()),
        category: Some("LIKE".into()),
        interruption_level: Some(ApnsInterruptionLevel::TimeSensitive),
        custom_data_json: Some(r#"{"post_id":"42","liker":{"name":"ada"}}"#.into()),
    }
}

fn minimal_push() -> ApnsPush {
    ApnsPush {
        device_token: TOKEN.into(),
        topic: "com.example.photos".into(),
        ..ApnsPush::default()
    }
}

#[test]
fn every_field_is_converted() {
    let converted = notification(&full_push(), event_id(), 1).unwrap();

    let custom_data = json!({"post_id": "42", "liker": {"name": "ada"}});
    let expected = ApnsNotification {
        device_token: TOKEN.into(),
        topic: "com.example.photos".into(),
        push_type: PushType::Background,
        priority: Some(Priority::PowerPrioritized),
        expiration_unix_secs: Some(1_733_400_000),
        collapse_id: Some("likes-42".into()),
        apns_id: Some(Uuid::from_u128(0xabcdef)),
        alert: Some(Alert {
            title: Some("New like".into()),
            subtitle: Some("On your photo".into()),
            body: Some("Ada liked your photo".into()),
            launch_image: Some("launch.png".into()),
            title_loc_key: Some("LIKE_TITLE".into()),
            title_loc_args: vec!["Ada".into()],
            subtitle_loc_key: Some("LIKE_SUBTITLE".into()),
            subtitle_loc_args: vec!["photo".into(), "42".into()],
            loc_key: Some("LIKE_BODY".into()),
            loc_args: vec!["Ada".into(), "photo".into()],
        }),
        badge: Some(3),
        sound: Some("chime.caf".into()),
        content_available: true,
        mutable_content: true,
        thread_id: Some("post-42".into()),
        category: Some("LIKE".into()),
        interruption_level: Some(InterruptionLevel::TimeSensitive),
        custom_data: custom_data.as_object().unwrap().clone(),
    };
    assert_eq!(converted, expected);
}

#[test]
fn minimal_push_gets_defaults_and_derived_ids() {
    let converted = notification(&minimal_push(), event_id(), 2).unwrap();

    let derived = derive_ids(event_id(), 2);
    assert_eq!(converted.push_type, PushType::Alert);
    assert_eq!(converted.priority, None);
    assert_eq!(converted.expiration_unix_secs, None);
    assert_eq!(converted.apns_id, Some(derived.apns_id));
    assert_eq!(converted.collapse_id, Some(derived.collapse_id));
    assert_eq!(converted.alert, None);
    assert_eq!(converted.badge, None);
    assert!(!converted.content_available);
    assert!(!converted.mutable_content);
    assert_eq!(converted.interruption_level, None);
    assert!(converted.custom_data.is_empty());
}

#[test]
fn derived_ids_keep_given_ones() {
    let mut push = minimal_push();
    push.collapse_id = Some("given".into());

    let converted = notification(&push, event_id(), 0).unwrap();
    let replayed = notification(&push, event_id(), 0).unwrap();

    assert_eq!(converted.collapse_id.as_deref(), Some("given"));
    assert_eq!(converted.apns_id, Some(derive_ids(event_id(), 0).apns_id));
    assert_eq!(replayed.apns_id, converted.apns_id);
}

#[test]
fn every_push_type_maps_to_its_header() {
    for &symbol in ApnsPushType::SYMBOLS {
        let push = ApnsPush {
            push_type: symbol,
            ..minimal_push()
        };

        let converted = notification(&push, event_id(), 0).unwrap();

        let expected = match symbol {
            ApnsPushType::Unknown => "alert",
            known => known.header_value(),
        };
        assert_eq!(converted.push_type.as_str(), expected, "{symbol:?}");
    }
}

#[test]
fn every_priority_maps_to_its_header() {
    for &symbol in ApnsPriority::SYMBOLS {
        let push = ApnsPush {
            priority: Some(symbol),
            ..minimal_push()
        };

        let converted = notification(&push, event_id(), 0).unwrap();

        assert_eq!(
            converted.priority.map(Priority::value),
            symbol.header_value(),
            "{symbol:?}"
        );
    }
}

#[test]
fn unknown_priority_of_background_push_is_five() {
    let push = ApnsPush {
        push_type: ApnsPushType::Background,
        priority: Some(ApnsPriority::Unknown),
        ..minimal_push()
    };

    let converted = notification(&push, event_id(), 0).unwrap();

    assert_eq!(converted.priority, Some(Priority::PowerConsidered));
}

#[test]
fn every_interruption_level_maps_to_its_payload_value() {
    for &symbol in ApnsInterruptionLevel::SYMBOLS {
        let push = ApnsPush {
            interruption_level: Some(symbol),
            ..minimal_push()
        };

        let converted = notification(&push, event_id(), 0).unwrap();

        let payload_value = converted
            .interruption_level
            .map(|level| serde_json::to_value(level).unwrap());
        assert_eq!(
            payload_value,
            symbol.payload_value().map(|value| json!(value)),
            "{symbol:?}"
        );
    }
}

#[test]
fn unknown_symbols_are_named_for_the_metric() {
    let push = ApnsPush {
        push_type: ApnsPushType::Unknown,
        priority: Some(ApnsPriority::Unknown),
        interruption_level: Some(ApnsInterruptionLevel::Unknown),
        ..minimal_push()
    };

    assert_eq!(
        defaulted_enum_fields(&push),
        vec![
            "apns_push.push_type",
            "apns_push.priority",
            "apns_push.interruption_level"
        ]
    );
    assert!(defaulted_enum_fields(&full_push()).is_empty());
}

#[test]
fn converted_payload_holds_alert_and_custom_data() {
    let converted = notification(&full_push(), event_id(), 0).unwrap();

    let payload: serde_json::Value = serde_json::from_slice(&converted.payload().unwrap()).unwrap();

    assert_eq!(payload["post_id"], "42");
    assert_eq!(payload["liker"]["name"], "ada");
    assert_eq!(payload["aps"]["alert"]["body"], "Ada liked your photo");
    assert_eq!(payload["aps"]["alert"]["subtitle-loc-args"], json!(["photo", "42"]));
    assert_eq!(payload["aps"]["badge"], 3);
    assert_eq!(payload["aps"]["interruption-level"], "time-sensitive");
}

#[test]
fn negative_badge_is_invalid() {
    let push = ApnsPush {
        badge: Some(-1),
        ..minimal_push()
    };

    let error = notification(&push, event_id(), 0).unwrap_err();

    assert!(matches!(error, PushError::Invalid { field: "badge", .. }), "{error}");
    assert!(error.to_string().contains("-1 is negative"), "{error}");
}

#[test]
fn negative_expiration_is_invalid() {
    let push = ApnsPush {
        expiration_epoch_secs: Some(-5),
        ..minimal_push()
    };

    let error = notification(&push, event_id(), 0).unwrap_err();

    assert!(
        matches!(
            error,
            PushError::Invalid {
                field: "expiration_epoch_secs",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn custom_data_must_be_a_json_object() {
    for text in ["[1, 2]", "{not json"] {
        let push = ApnsPush {
            custom_data_json: Some(text.into()),
            ..minimal_push()
        };

        let error = notification(&push, event_id(), 0).unwrap_err();

        assert!(
            matches!(
                error,
                PushError::Invalid {
                    field: "custom_data_json",
                    ..
                }
            ),
            "{text}: {error}"
        );
        assert!(!error.is_retryable());
        assert_eq!(error.class(), "push_invalid");
    }
}
