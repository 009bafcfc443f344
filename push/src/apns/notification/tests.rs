use serde_json::json;

use super::*;

fn alert_notification() -> ApnsNotification {
    ApnsNotification {
        device_token: "a1".repeat(32),
        topic: "com.example.app".into(),
        ..ApnsNotification::default()
    }
}

#[test]
fn payload_holds_every_aps_key_and_custom_data() {
    let mut notification = alert_notification();
    notification.alert = Some(Alert {
        title: Some("Ana".into()),
        subtitle: Some("commented".into()),
        body: Some("Nice photo".into()),
        launch_image: Some("launch.png".into()),
        title_loc_key: Some("T".into()),
        title_loc_args: vec!["a".into()],
        subtitle_loc_key: Some("S".into()),
        subtitle_loc_args: vec!["b".into()],
        loc_key: Some("B".into()),
        loc_args: vec!["c".into(), "d".into()],
    });
    notification.badge = Some(3);
    notification.sound = Some("default".into());
    notification.content_available = true;
    notification.mutable_content = true;
    notification.thread_id = Some("post-9".into());
    notification.category = Some("COMMENT".into());
    notification.interruption_level = Some(InterruptionLevel::TimeSensitive);
    notification.custom_data.insert("post_id".into(), json!(9));

    let payload: Value = serde_json::from_slice(&notification.payload().unwrap()).unwrap();

    assert_eq!(
        payload,
        json!({
            "aps": {
                "alert": {
                    "title": "Ana", "subtitle": "commented", "body": "Nice photo",
                    "launch-image": "launch.png",
                    "title-loc-key": "T", "title-loc-args": ["a"],
                    "subtitle-loc-key": "S", "subtitle-loc-args": ["b"],
                    "loc-key": "B", "loc-args": ["c", "d"]
                },
                "badge": 3, "sound": "default", "content-available": 1, "mutable-content": 1,
                "thread-id": "post-9", "category": "COMMENT", "interruption-level": "time-sensitive"
            },
            "post_id": 9
        })
    );
}

#[test]
fn payload_over_limit_is_rejected_except_voip_up_to_5120() {
    let mut notification = alert_notification();
    notification.custom_data.insert("blob".into(), json!("x".repeat(4500)));

    let alert_error = notification.payload().unwrap_err();
    notification.push_type = PushType::Voip;
    let voip_payload = notification.payload().unwrap();

    assert_eq!(
        alert_error,
        Invalid::PayloadTooLarge {
            size_bytes: voip_payload.len(),
            limit_bytes: 4096
        }
    );
    assert!(voip_payload.len() <= 5120);
}

#[test]
fn check_rejects_malformed_token_with_its_suffix() {
    let mut notification = alert_notification();
    notification.device_token = "not-hex-abcdef".into();

    let error = notification.check().unwrap_err();

    assert_eq!(
        error,
        Invalid::BadDeviceToken {
            token_suffix: "abcdef".into()
        }
    );
}

#[test]
fn check_rejects_background_push_at_priority_10() {
    let mut notification = alert_notification();
    notification.push_type = PushType::Background;
    notification.priority = Some(Priority::Immediate);

    let error = notification.check().unwrap_err();

    assert!(matches!(error, Invalid::BadField { field: "priority", .. }), "{error}");
}

#[test]
fn headers_carry_every_apns_header() {
    let mut notification = alert_notification();
    notification.push_type = PushType::Liveactivity;
    notification.priority = Some(Priority::PowerConsidered);
    notification.expiration_unix_secs = Some(0);
    notification.fill_derived_ids(Uuid::nil(), 1);

    let headers = notification.headers();
    let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();

    assert_eq!(
        names,
        [
            "apns-topic",
            "apns-push-type",
            "apns-priority",
            "apns-expiration",
            "apns-collapse-id",
            "apns-id"
        ]
    );
    assert_eq!(headers[1].1, "liveactivity");
    assert_eq!(headers[2].1, "5");
    assert_eq!(headers[3].1, "0");
    assert_eq!(headers[5].1, derive_ids(Uuid::nil(), 1).apns_id.to_string());
}

#[test]
fn fill_derived_ids_keeps_ids_the_producer_gave() {
    let mut notification = alert_notification();
    notification.collapse_id = Some("post-9".into());

    notification.fill_derived_ids(Uuid::nil(), 0);

    assert_eq!(notification.collapse_id.as_deref(), Some("post-9"));
    assert_eq!(notification.apns_id, Some(derive_ids(Uuid::nil(), 0).apns_id));
}

#[test]
fn push_types_round_trip_through_their_names() {
    for name in [
        "alert",
        "background",
        "controls",
        "location",
        "voip",
        "complication",
        "fileprovider",
        "liveactivity",
        "mdm",
        "pushtotalk",
        "widgets",
    ] {
        assert_eq!(PushType::from_name(name).map(PushType::as_str), Some(name));
    }
}
