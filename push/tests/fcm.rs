//! The FCM client against the FCM stand-in, on loopback.

mod support;

use std::collections::VecDeque;
use std::time::Duration;

use offload_push::fcm::{AndroidConfig, AndroidPriority, FcmErrorCode, FcmMessage, FcmNotification, FcmTarget};
use offload_push::ids::derive_ids;
use offload_push::{Platform, PushOutcome, Reason};
use offload_standins::{Fault, RecordFilter, ScriptedResponse};
use serde_json::json;
use support::{hold_clock, registration_token, start};
use uuid::Uuid;

fn message(n: u32) -> FcmMessage {
    let mut message = FcmMessage::new(FcmTarget::Token(registration_token(n)));
    message.notification = Some(FcmNotification {
        title: Some("Ana".into()),
        body: Some(format!("message {n}")),
        image: None,
    });
    message
}

fn scripted(status: u16, error_code: &str, retry_after_secs: Option<u64>) -> Fault {
    Fault {
        responses: VecDeque::from([ScriptedResponse {
            status,
            reason: Some(error_code.into()),
            retry_after_secs,
            timestamp_ms: None,
        }]),
        ..Fault::default()
    }
}

#[tokio::test]
async fn delivered_message_is_recorded_with_every_field() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    let event_id = Uuid::new_v4();
    let mut sent = message(1);
    sent.data.insert("post_id".into(), "9".into());
    sent.android = Some(AndroidConfig {
        priority: Some(AndroidPriority::High),
        ttl: Some(Duration::from_secs(600)),
        collapse_key: None,
        channel_id: Some("comments".into()),
    });
    sent.apns = Some(json!({"headers": {"apns-priority": "10"}}));
    sent.webpush = Some(json!({"headers": {"Urgency": "high"}}));
    sent.fill_derived_collapse_key(event_id, 1);
    let second = FcmMessage::new(FcmTarget::Topic("news".into()));

    let first_outcome = client.send(&sent).await;
    let second_outcome = client.send(&second).await;

    assert_eq!(
        first_outcome,
        PushOutcome::Delivered {
            platform: Platform::Fcm,
            id: "projects/offload-demo/messages/1".into()
        }
    );
    assert_eq!(second_outcome.class(), "delivered");
    let recorded = harness.stand_ins.recorded(&RecordFilter {
        platform: Some("fcm".into()),
        ..RecordFilter::default()
    });
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].target, registration_token(1));
    assert_eq!(
        recorded[0].body,
        json!({
            "token": registration_token(1),
            "notification": {"title": "Ana", "body": "message 1"},
            "data": {"post_id": "9"},
            "android": {"priority": "HIGH", "ttl": "600s", "collapse_key": derive_ids(event_id, 1).collapse_id,
                "notification": {"channel_id": "comments"}},
            "apns": {"headers": {"apns-priority": "10"}},
            "webpush": {"headers": {"Urgency": "high"}}
        })
    );
    assert_eq!(recorded[1].target, "topic:news");
    assert_eq!(
        recorded[0].access_token, recorded[1].access_token,
        "the access token is cached"
    );
    assert_eq!(harness.stand_ins.fcm_token_exchanges(), 1);
}

#[tokio::test]
async fn unregistered_token_is_gone() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    harness.stand_ins.unregister_fcm(&registration_token(2));

    let outcome = client.send(&message(2)).await;

    assert_eq!(
        outcome,
        PushOutcome::TokenGone {
            platform: Platform::Fcm,
            reason: Reason::Fcm {
                status: 404,
                code: FcmErrorCode::Unregistered,
                message: "Requested entity was not found.".into()
            },
            timestamp: None,
        }
    );
}

#[tokio::test]
async fn invalid_argument_is_permanent() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    let malformed_token = FcmMessage::new(FcmTarget::Token("short".into()));

    let outcome = client.send(&malformed_token).await;

    let PushOutcome::Permanent { reason, .. } = &outcome else {
        panic!("expected permanent, got {outcome:?}");
    };
    assert!(
        matches!(
            reason,
            Reason::Fcm {
                status: 400,
                code: FcmErrorCode::InvalidArgument,
                ..
            }
        ),
        "{reason:?}"
    );
    assert!(harness.stand_ins.recorded(&RecordFilter::default()).is_empty());
}

#[tokio::test]
async fn sender_id_mismatch_is_permanent() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    harness
        .stand_ins
        .fcm_faults()
        .set_for(&registration_token(3), scripted(403, "SENDER_ID_MISMATCH", None));

    let outcome = client.send(&message(3)).await;

    assert_eq!(outcome.class(), "permanent");
    assert_eq!(outcome.labels()[2], "SENDER_ID_MISMATCH");
}

#[tokio::test]
async fn too_many_requests_is_retryable_after_retry_after() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    harness
        .stand_ins
        .fcm_faults()
        .set_for(&registration_token(4), scripted(429, "QUOTA_EXCEEDED", Some(30)));
    harness
        .stand_ins
        .fcm_faults()
        .set_for(&registration_token(5), scripted(429, "QUOTA_EXCEEDED", Some(5)));
    harness
        .stand_ins
        .fcm_faults()
        .set_for(&registration_token(6), scripted(503, "UNAVAILABLE", Some(30)));

    let quota_30 = client.send(&message(4)).await;
    let quota_5 = client.send(&message(5)).await;
    let unavailable = client.send(&message(6)).await;
    let retried = client.send(&message(4)).await;

    let wait = |outcome: &PushOutcome| match outcome {
        PushOutcome::Retryable { retry_after, .. } => *retry_after,
        other => panic!("expected retryable, got {other:?}"),
    };
    assert_eq!(
        wait(&quota_30),
        Some(Duration::from_secs(60)),
        "QUOTA_EXCEEDED waits at least a minute"
    );
    assert_eq!(wait(&quota_5), Some(Duration::from_secs(60)));
    assert!(wait(&unavailable) >= Some(Duration::from_secs(30)));
    assert_eq!(unavailable.labels()[2], "UNAVAILABLE");
    assert_eq!(retried.class(), "delivered");
}

#[tokio::test]
async fn plain_429_keeps_retry_after() {
    let harness = start(|_| {}).await;
    let client = harness.fcm_client(&harness.fcm_config());
    let fault = Fault {
        responses: VecDeque::from([ScriptedResponse {
            status: 429,
            reason: None,
            retry_after_secs: Some(30),
            timestamp_ms: None,
        }]),
        ..Fault::default()
    };
    harness.stand_ins.fcm_faults().set_for(&registration_token(7), fault);

    let outcome = client.send(&message(7)).await;

    assert!(
        matches!(outcome, PushOutcome::Retryable { retry_after: Some(wait), .. } if wait >= Duration::from_secs(30)),
        "{outcome:?}"
    );
    assert_eq!(outcome.labels()[2], "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn rejected_assertion_is_permanent_oauth_failure() {
    let harness = start(|_| {}).await;
    let other = start(|_| {}).await;
    // A key file whose token_uri points at the first stand-in but whose key
    // belongs to the second: the first rejects the signature.
    let mut key: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&other.stand_ins.credentials.fcm_service_account).unwrap()).unwrap();
    let right: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&harness.stand_ins.credentials.fcm_service_account).unwrap()).unwrap();
    key["token_uri"] = right["token_uri"].clone();
    key["client_email"] = right["client_email"].clone();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("wrong-key.json");
    std::fs::write(&key_path, key.to_string()).unwrap();
    let mut config = harness.fcm_config();
    config.service_account_key_path = key_path;
    let client = harness.fcm_client(&config);

    let outcome = client.send(&message(8)).await;

    assert!(
        matches!(&outcome, PushOutcome::Permanent { reason: Reason::OAuth { status: Some(400), message }, .. } if message.contains("invalid_grant")),
        "{outcome:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn access_token_is_refreshed_before_expiry() {
    let _hold = hold_clock();
    let harness = start(|config| config.access_token_lifetime = Duration::from_secs(3600)).await;
    let client = harness.fcm_client(&harness.fcm_config());

    client.send(&message(1)).await;
    tokio::time::advance(Duration::from_secs(54 * 60)).await;
    client.send(&message(2)).await;
    tokio::time::advance(Duration::from_secs(60)).await;
    let after_margin = client.send(&message(3)).await;

    assert_eq!(after_margin.class(), "delivered");
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    assert_eq!(recorded[0].access_token, recorded[1].access_token);
    assert_ne!(
        recorded[1].access_token, recorded[2].access_token,
        "replaced 5 minutes before expiry"
    );
    assert_eq!(harness.stand_ins.fcm_token_exchanges(), 2);
}
