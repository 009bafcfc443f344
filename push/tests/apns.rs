//! The APNs client against the APNs stand-in, on loopback.

mod support;

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use offload_push::apns::{ApnsReason, InterruptionLevel, Priority, PushType};
use offload_push::config::ApnsAuth;
use offload_push::ids::derive_ids;
use offload_push::outcome::{Invalid, Transport};
use offload_push::{Platform, PushOutcome, Reason};
use offload_standins::{Fault, GoAwayFault, RecordFilter, ScriptedResponse};
use serde_json::json;
use support::{alert, device_token, start};
use uuid::Uuid;

fn scripted(status: u16, reason: &str, retry_after_secs: Option<u64>) -> Fault {
    Fault {
        responses: VecDeque::from([ScriptedResponse {
            status,
            reason: Some(reason.into()),
            retry_after_secs,
            timestamp_ms: None,
        }]),
        ..Fault::default()
    }
}

#[tokio::test]
async fn delivered_notification_is_recorded_with_every_field() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    let event_id = Uuid::new_v4();
    let mut notification = alert(1);
    notification.priority = Some(Priority::PowerConsidered);
    notification.expiration_unix_secs = Some(1_900_000_000);
    notification.badge = Some(4);
    notification.sound = Some("default".into());
    notification.thread_id = Some("post-9".into());
    notification.category = Some("COMMENT".into());
    notification.interruption_level = Some(InterruptionLevel::Active);
    notification.custom_data.insert("post_id".into(), json!(9));
    notification.fill_derived_ids(event_id, 2);

    let outcome = client.send(&notification).await;

    let ids = derive_ids(event_id, 2);
    assert_eq!(
        outcome,
        PushOutcome::Delivered {
            platform: Platform::Apns,
            id: ids.apns_id.to_string()
        }
    );
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    assert_eq!(recorded.len(), 1);
    let record = &recorded[0];
    assert_eq!(record.target, device_token(1));
    assert_eq!(record.headers["apns-topic"], "com.example.app");
    assert_eq!(record.headers["apns-push-type"], "alert");
    assert_eq!(record.headers["apns-priority"], "5");
    assert_eq!(record.headers["apns-expiration"], "1900000000");
    assert_eq!(record.headers["apns-collapse-id"], ids.collapse_id);
    assert_eq!(record.headers["apns-id"], ids.apns_id.to_string());
    assert_eq!(
        record.body,
        json!({"aps": {"alert": {"body": "notification 1"}, "badge": 4, "sound": "default",
            "thread-id": "post-9", "category": "COMMENT", "interruption-level": "active"}, "post_id": 9})
    );
}

#[tokio::test]
async fn unregistered_token_is_gone_with_apns_timestamp() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    harness.stand_ins.unregister_apns(&device_token(2), 1_700_000_000_500);

    let outcome = client.send(&alert(2)).await;

    assert_eq!(
        outcome,
        PushOutcome::TokenGone {
            platform: Platform::Apns,
            reason: Reason::Apns {
                status: 410,
                reason: ApnsReason::Unregistered
            },
            timestamp: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)),
        }
    );
    assert!(harness.stand_ins.recorded(&RecordFilter::default()).is_empty());
}

#[tokio::test]
async fn rejected_requests_are_permanent_with_apns_reason() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    let mut short_token = alert(3);
    short_token.device_token = "ab".repeat(31);
    let mut wrong_topic = alert(4);
    wrong_topic.topic = "com.other.app".into();
    let mut voip_without_suffix = alert(5);
    voip_without_suffix.push_type = PushType::Voip;

    let outcomes = [
        client.send(&short_token).await,
        client.send(&wrong_topic).await,
        client.send(&voip_without_suffix).await,
    ];

    let reasons: Vec<_> = outcomes
        .iter()
        .map(|outcome| (outcome.class(), outcome.labels()[2].to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("permanent", "BadDeviceToken".to_string()),
            ("permanent", "BadTopic".to_string()),
            ("permanent", "BadTopic".to_string())
        ]
    );
    assert!(harness.stand_ins.recorded(&RecordFilter::default()).is_empty());
}

#[tokio::test]
async fn oversized_payload_is_permanent_before_sending() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    let mut notification = alert(6);
    notification.custom_data.insert("blob".into(), json!("x".repeat(4100)));

    let outcome = client.send(&notification).await;

    assert!(
        matches!(
            outcome,
            PushOutcome::Permanent {
                reason: Reason::Invalid(Invalid::PayloadTooLarge { limit_bytes: 4096, .. }),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(harness.stand_ins.apns_stats().connections, 0);
}

#[tokio::test]
async fn too_many_requests_is_retryable_after_retry_after() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    harness
        .stand_ins
        .apns_faults()
        .set_for(&device_token(7), scripted(429, "TooManyRequests", Some(30)));

    let throttled = client.send(&alert(7)).await;
    let retried = client.send(&alert(7)).await;

    let PushOutcome::Retryable {
        retry_after, reason, ..
    } = throttled
    else {
        panic!("expected retryable, got {throttled:?}");
    };
    assert!(retry_after >= Some(Duration::from_secs(30)), "{retry_after:?}");
    assert_eq!(reason.label(), "TooManyRequests");
    assert_eq!(retried.class(), "delivered");
    assert_eq!(harness.stand_ins.recorded(&RecordFilter::default()).len(), 1);
}

#[tokio::test]
async fn injected_latency_delays_the_answer_after_receipt() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    client.send(&alert(20)).await;
    harness.stand_ins.apns_faults().set_for(
        &device_token(21),
        Fault {
            latency_ms: 300,
            ..Fault::default()
        },
    );

    let sent_at = harness.now();
    let started = std::time::Instant::now();
    let outcome = client.send(&alert(21)).await;
    let elapsed = started.elapsed();

    assert_eq!(outcome.class(), "delivered");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    let recorded = harness.stand_ins.recorded(&RecordFilter {
        target: Some(device_token(21)),
        ..RecordFilter::default()
    });
    let sent_at_ms = u64::try_from(sent_at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let received_after_ms = recorded[0].received_at_ms.checked_sub(sent_at_ms).unwrap();
    assert!(
        received_after_ms < 300,
        "recorded on receipt, not after the latency: {received_after_ms} ms"
    );
}

#[tokio::test]
async fn server_errors_are_retryable() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    harness
        .stand_ins
        .apns_faults()
        .set_global(scripted(503, "ServiceUnavailable", None));

    let outcome = client.send(&alert(8)).await;

    assert_eq!(outcome.class(), "retryable");
    assert_eq!(outcome.labels()[2], "ServiceUnavailable");
}

#[tokio::test]
async fn dropped_connection_is_retryable_connection_lost() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    let fault = Fault {
        drop_connection: 1,
        ..Fault::default()
    };
    harness.stand_ins.apns_faults().set_for(&device_token(9), fault);

    let lost = client.send(&alert(9)).await;
    let next = client.send(&alert(9)).await;

    assert!(
        matches!(
            lost,
            PushOutcome::Retryable {
                reason: Reason::Transport(Transport::ConnectionLost { .. }),
                ..
            }
        ),
        "{lost:?}"
    );
    assert_eq!(next.class(), "delivered");
    assert_eq!(harness.stand_ins.apns_stats().connections, 2);
}

#[tokio::test]
async fn go_away_streams_above_last_id_are_sent_again_once() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    // Streams 1 and 3 wait, so that 5 and 7 are in flight when GOAWAY comes.
    harness.stand_ins.apns_faults().set_global(Fault {
        latency_ms: 100,
        ..Fault::default()
    });
    harness
        .stand_ins
        .apns_faults()
        .push_go_away(GoAwayFault::after_streams(2));

    let outcomes = join_all((10..14).map(|n| {
        let client = &client;
        async move { client.send(&alert(n)).await }
    }))
    .await;

    for outcome in &outcomes {
        assert_eq!(outcome.class(), "delivered", "{outcome:?}");
    }
    let stats = harness.stand_ins.apns_stats();
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    let tokens: BTreeSet<_> = recorded.iter().map(|record| record.target.clone()).collect();
    assert_eq!(
        recorded.len(),
        4,
        "each notification is recorded exactly once: {recorded:?}"
    );
    assert_eq!(tokens.len(), 4);
    assert_eq!(stats.unprocessed_streams.get(&1), Some(&vec![5, 7]));
    let on_first: Vec<_> = recorded
        .iter()
        .filter(|r| r.connection == Some(1))
        .map(|r| r.stream_id)
        .collect();
    let on_second: Vec<_> = recorded.iter().filter(|r| r.connection == Some(2)).collect();
    assert_eq!(
        on_first.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([Some(1), Some(3)])
    );
    assert_eq!(on_second.len(), 2);
    assert_eq!(stats.connections, 2);
}

#[tokio::test]
async fn certificate_auth_delivers_without_provider_token() {
    let harness = start(|config| config.apns_client_certificates = true).await;
    let credentials = &harness.stand_ins.credentials;
    let mut config = harness.apns_config();
    config.auth = ApnsAuth::Certificate {
        certificate_path: credentials.apns_client_certificate.clone(),
        private_key_path: credentials.apns_client_key.clone(),
    };
    let client = harness.apns_client(&config);

    let outcome = client.send(&alert(20)).await;

    assert_eq!(outcome.class(), "delivered", "{outcome:?}");
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    assert_eq!(recorded[0].provider_token_iat, None);
}

#[tokio::test]
async fn streams_in_flight_stay_within_server_and_client_limits() {
    let server_limited = start(|config| config.apns_max_concurrent_streams = 2).await;
    let client_limited = start(|_| {}).await;
    let slow = Fault {
        latency_ms: 50,
        ..Fault::default()
    };
    server_limited.stand_ins.apns_faults().set_global(slow.clone());
    client_limited.stand_ins.apns_faults().set_global(slow);
    let by_server = server_limited.apns_client(&server_limited.apns_config());
    let mut config = client_limited.apns_config();
    config.max_concurrent_streams = 3;
    let by_client = client_limited.apns_client(&config);

    let server_outcomes = join_all((30..38).map(|n| {
        let client = &by_server;
        async move { client.send(&alert(n)).await }
    }))
    .await;
    let client_outcomes = join_all((40..48).map(|n| {
        let client = &by_client;
        async move { client.send(&alert(n)).await }
    }))
    .await;

    for outcome in server_outcomes.iter().chain(&client_outcomes) {
        assert_eq!(outcome.class(), "delivered", "{outcome:?}");
    }
    assert_eq!(server_limited.stand_ins.apns_stats().max_streams_in_flight, 2);
    assert_eq!(client_limited.stand_ins.apns_stats().max_streams_in_flight, 3);
    assert_eq!(server_limited.stand_ins.apns_stats().connections, 1);
}
