//! Push actions end to end. Events go through Kafka to the worker binary,
//! which sends to stand-in APNs and FCM servers in this process. The tests
//! read the outcomes back from the stand-ins' records, the feedback topic,
//! the dead-letter topic and the group's committed offsets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use offload_e2e::push::push_tables;
use offload_e2e::{
    create_topic, end_offsets, group_lags, http, publish_events, read_topic, unique_name, wait_for_drain,
    WorkerConfigBuilder, WorkerProcess,
};
use offload_push::ids::derive_ids;
use offload_schemas::{
    Action, AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, DispatchEvent,
    FcmAndroidConfig, FcmNotification, FcmPush, FeedbackCodec, FeedbackReason, PushPlatform,
};
use offload_standins::{Fault, Now, RecordFilter, Recorded, ScriptedResponse, StandIns, StandInsConfig};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

/// The stand-ins' default bundle id; `apns-topic` must be it.
const BUNDLE_ID: &str = "com.example.app";

/// Topics, group, stand-ins and a worker configuration for one test.
struct PushScenario {
    topic: String,
    dead_letter_topic: String,
    feedback_topic: String,
    group: String,
    stand_ins: StandIns,
    config: WorkerConfigBuilder,
    _credentials: TempDir,
}

impl PushScenario {
    /// Creates one-partition topics and starts the stand-ins on 127.0.0.1,
    /// with `now` as their clock when given.
    async fn new(now: Option<Now>) -> anyhow::Result<PushScenario> {
        let topic = unique_name("dispatch");
        let dead_letter_topic = format!("{topic}_dlq");
        let feedback_topic = format!("{topic}_feedback");
        let group = unique_name("group");
        for name in [&topic, &dead_letter_topic, &feedback_topic] {
            create_topic(name, 1).await?;
        }

        let credentials = tempfile::tempdir()?;
        let mut stand_ins_config = StandInsConfig::new(credentials.path());
        if let Some(now) = now {
            stand_ins_config.now = now;
        }
        let stand_ins = StandIns::start(stand_ins_config).await?;

        let config = WorkerConfigBuilder::new(&topic, &dead_letter_topic, &group)
            .push_feedback_topic(&feedback_topic)
            .extra(&push_tables(&stand_ins));
        Ok(PushScenario {
            topic,
            dead_letter_topic,
            feedback_topic,
            group,
            stand_ins,
            config,
            _credentials: credentials,
        })
    }

    /// Waits until the group committed the log end of the dispatch topic.
    async fn drain(&self, worker: &WorkerProcess, group: &str) -> anyhow::Result<()> {
        if let Err(error) = wait_for_drain(group, &self.topic, Duration::from_secs(60)).await {
            bail!("{error}\nworker log:\n{}", worker.log_text());
        }
        Ok(())
    }

    /// Returns every notification the stand-ins accepted, in arrival order.
    fn recorded(&self) -> Vec<Recorded> {
        self.stand_ins.recorded(&RecordFilter::default())
    }
}

fn apns_token(number: u32) -> String {
    format!("{number:064x}")
}

fn fcm_token(number: u32) -> String {
    format!("fcm-registration-token-{number:04}")
}

fn event(entity: &str, actions: Vec<Action>) -> DispatchEvent {
    DispatchEvent {
        event_id: Uuid::new_v4(),
        entity_key: entity.into(),
        created_at_us: 1_733_337_600_000_000,
        source_service: "offload-e2e".into(),
        actions,
    }
}

fn alert_push(token: &str) -> ApnsPush {
    ApnsPush {
        device_token: token.into(),
        topic: BUNDLE_ID.into(),
        alert: Some(ApnsAlert {
            body: Some("Ada liked your photo".into()),
            ..ApnsAlert::default()
        }),
        ..ApnsPush::default()
    }
}

fn token_push(token: &str) -> FcmPush {
    FcmPush {
        token: Some(token.into()),
        data: BTreeMap::from([("kind".to_string(), "like".to_string())]),
        ..FcmPush::default()
    }
}

/// Polls the stand-ins until `count` notifications to `target` arrived.
async fn wait_for_target(stand_ins: &StandIns, target: &str, count: usize) -> anyhow::Result<Vec<Recorded>> {
    let filter = RecordFilter {
        target: Some(target.into()),
        ..RecordFilter::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let records = stand_ins.recorded(&filter);
        if records.len() >= count {
            return Ok(records);
        }
        if Instant::now() >= deadline {
            bail!(
                "only {} of {count} notifications to {target} arrived in 30 s",
                records.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn metrics(worker: &WorkerProcess) -> anyhow::Result<String> {
    let (status, body) = http::get(worker.metrics_port(), "/metrics").await?;
    anyhow::ensure!(status == 200, "/metrics answered {status}");
    Ok(body)
}

#[tokio::test(flavor = "multi_thread")]
async fn pushes_reach_the_stand_ins_with_every_field() -> anyhow::Result<()> {
    let scenario = PushScenario::new(None).await?;
    let apns_id = Uuid::parse_str("6a1f3c3e-0d51-4a53-9d5e-3f4a1b2c3d4e")?;
    let full_apns = ApnsPush {
        device_token: apns_token(1),
        topic: BUNDLE_ID.into(),
        push_type: ApnsPushType::Alert,
        priority: Some(ApnsPriority::Immediate),
        expiration_epoch_secs: Some(4_102_444_800),
        collapse_id: Some("likes-42".into()),
        apns_id: Some(apns_id),
        alert: Some(ApnsAlert {
            title: Some("New like".into()),
            subtitle: Some("On your photo".into()),
            body: Some("Ada liked your photo".into()),
            launch_image: Some("like.png".into()),
            title_loc_key: Some("LIKE_TITLE".into()),
            title_loc_args: vec!["Ada".into()],
            subtitle_loc_key: Some("LIKE_SUBTITLE".into()),
            subtitle_loc_args: vec!["photo".into()],
            loc_key: Some("LIKE_BODY".into()),
            loc_args: vec!["Ada".into(), "photo".into()],
        }),
        badge: Some(3),
        sound: Some("default".into()),
        content_available: true,
        mutable_content: true,
        thread_id: Some("post-42".into()),
        category: Some("LIKE".into()),
        interruption_level: Some(ApnsInterruptionLevel::TimeSensitive),
        custom_data_json: Some(r#"{"post_id":"42","liker":{"id":7}}"#.into()),
    };
    let full_fcm = FcmPush {
        token: Some(fcm_token(1)),
        topic: None,
        condition: None,
        notification: Some(FcmNotification {
            title: Some("New comment".into()),
            body: Some("Ada: nice!".into()),
            image: Some("https://img.example/42.png".into()),
        }),
        data: BTreeMap::from([
            ("post_id".to_string(), "42".to_string()),
            ("kind".to_string(), "comment".to_string()),
        ]),
        android: Some(FcmAndroidConfig {
            priority: Some(AndroidPriority::High),
            ttl_secs: Some(86_400),
            collapse_key: Some("comments".into()),
            channel_id: Some("social".into()),
        }),
        apns_override_json: Some(r#"{"headers":{"apns-priority":"5"}}"#.into()),
        webpush_override_json: Some(r#"{"headers":{"TTL":"60"}}"#.into()),
    };
    let topic_fcm = FcmPush {
        topic: Some("news".into()),
        android: Some(FcmAndroidConfig {
            priority: Some(AndroidPriority::Normal),
            ttl_secs: Some(60),
            ..FcmAndroidConfig::default()
        }),
        ..FcmPush::default()
    };
    let first = event("user-1", vec![Action::from(full_apns), Action::from(full_fcm)]);
    let second = event(
        "user-1",
        vec![Action::from(alert_push(&apns_token(2))), Action::from(topic_fcm)],
    );
    publish_events(&scenario.topic, &[first.clone(), second.clone()]).await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    scenario.drain(&worker, &scenario.group).await?;
    worker.terminate(Duration::from_secs(30))?;

    let derived = derive_ids(second.event_id, 0);
    let derived_fcm = derive_ids(second.event_id, 1);
    let expected = vec![
        (
            "apns".to_string(),
            apns_token(1),
            BTreeMap::from([
                ("apns-collapse-id".to_string(), "likes-42".to_string()),
                ("apns-expiration".to_string(), "4102444800".to_string()),
                ("apns-id".to_string(), apns_id.to_string()),
                ("apns-priority".to_string(), "10".to_string()),
                ("apns-push-type".to_string(), "alert".to_string()),
                ("apns-topic".to_string(), BUNDLE_ID.to_string()),
            ]),
            json!({
                "aps": {
                    "alert": {
                        "title": "New like",
                        "subtitle": "On your photo",
                        "body": "Ada liked your photo",
                        "launch-image": "like.png",
                        "title-loc-key": "LIKE_TITLE",
                        "title-loc-args": ["Ada"],
                        "subtitle-loc-key": "LIKE_SUBTITLE",
                        "subtitle-loc-args": ["photo"],
                        "loc-key": "LIKE_BODY",
                        "loc-args": ["Ada", "photo"]
                    },
                    "badge": 3,
                    "sound": "default",
                    "content-available": 1,
                    "mutable-content": 1,
                    "thread-id": "post-42",
                    "category": "LIKE",
                    "interruption-level": "time-sensitive"
                },
                "post_id": "42",
                "liker": {"id": 7}
            }),
        ),
        (
            "fcm".to_string(),
            fcm_token(1),
            BTreeMap::new(),
            json!({
                "token": fcm_token(1),
                "notification": {"title": "New comment", "body": "Ada: nice!", "image": "https://img.example/42.png"},
                "data": {"kind": "comment", "post_id": "42"},
                "android": {
                    "priority": "HIGH",
                    "ttl": "86400s",
                    "collapse_key": "comments",
                    "notification": {"channel_id": "social"}
                },
                "apns": {"headers": {"apns-priority": "5"}},
                "webpush": {"headers": {"TTL": "60"}}
            }),
        ),
        (
            "apns".to_string(),
            apns_token(2),
            BTreeMap::from([
                ("apns-collapse-id".to_string(), derived.collapse_id.clone()),
                ("apns-id".to_string(), derived.apns_id.to_string()),
                ("apns-push-type".to_string(), "alert".to_string()),
                ("apns-topic".to_string(), BUNDLE_ID.to_string()),
            ]),
            json!({"aps": {"alert": {"body": "Ada liked your photo"}}}),
        ),
        (
            "fcm".to_string(),
            "topic:news".to_string(),
            BTreeMap::new(),
            json!({
                "topic": "news",
                "android": {"priority": "NORMAL", "ttl": "60s", "collapse_key": derived_fcm.collapse_id}
            }),
        ),
    ];
    let recorded: Vec<_> = scenario
        .recorded()
        .into_iter()
        .map(|record| (record.platform, record.target, record.headers, record.body))
        .collect();
    assert_eq!(recorded, expected);

    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(2));
    assert_eq!(end_offsets(&scenario.dead_letter_topic)?, vec![0]);
    assert_eq!(end_offsets(&scenario.feedback_topic)?, vec![0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn gone_and_invalid_push_outcomes() -> anyhow::Result<()> {
    const GONE_SINCE_MS: u64 = 1_733_400_000_123;
    let scenario = PushScenario::new(None).await?;
    scenario.stand_ins.unregister_apns(&apns_token(10), GONE_SINCE_MS);
    scenario.stand_ins.unregister_fcm(&fcm_token(10));
    let apns_gone = event("user-2", vec![Action::from(alert_push(&apns_token(10)))]);
    let fcm_gone = event("user-2", vec![Action::from(token_push(&fcm_token(10)))]);
    // The FCM stand-in, like FCM, responds 400 INVALID_ARGUMENT to a
    // registration token shorter than 20 characters.
    let fcm_invalid = event("user-2", vec![Action::from(token_push("short-token"))]);
    let delivered = event("user-2", vec![Action::from(alert_push(&apns_token(11)))]);
    publish_events(
        &scenario.topic,
        &[apns_gone.clone(), fcm_gone.clone(), fcm_invalid, delivered],
    )
    .await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    scenario.drain(&worker, &scenario.group).await?;
    let metrics = metrics(&worker).await?;
    worker.terminate(Duration::from_secs(30))?;

    let feedback = read_topic(&scenario.feedback_topic, 2, Duration::from_secs(30))?;
    assert_eq!(feedback.len(), 2, "{feedback:?}");
    let codec = FeedbackCodec::new();
    let apns_record = codec.decode(feedback[0].payload.as_deref().unwrap_or_default())?;
    assert_eq!(feedback[0].key.as_deref(), Some(apns_token(10).as_bytes()));
    assert_eq!(
        feedback[0].header("offload-event-id"),
        Some(apns_gone.event_id.to_string().as_str())
    );
    assert_eq!(apns_record.platform, PushPlatform::Apns);
    assert_eq!(apns_record.token, apns_token(10));
    assert_eq!(apns_record.reason, FeedbackReason::Unregistered);
    assert_eq!(apns_record.provider_reason, "Unregistered");
    assert_eq!(apns_record.provider_timestamp_ms, Some(GONE_SINCE_MS as i64));
    assert_eq!(apns_record.event_id, apns_gone.event_id);
    let fcm_record = codec.decode(feedback[1].payload.as_deref().unwrap_or_default())?;
    assert_eq!(feedback[1].key.as_deref(), Some(fcm_token(10).as_bytes()));
    assert_eq!(fcm_record.platform, PushPlatform::Fcm);
    assert_eq!(fcm_record.token, fcm_token(10));
    assert_eq!(fcm_record.reason, FeedbackReason::Unregistered);
    assert_eq!(fcm_record.provider_reason, "UNREGISTERED");
    assert_eq!(fcm_record.provider_timestamp_ms, None);
    assert_eq!(fcm_record.event_id, fcm_gone.event_id);
    assert_eq!(end_offsets(&scenario.feedback_topic)?, vec![2]);

    let letters = read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].header("offload-dlq-source-offset"), Some("2"));
    assert_eq!(letters[0].header("offload-dlq-error-class"), Some("push_rejected"));
    let message = letters[0].header("offload-dlq-error-message").unwrap_or_default();
    assert!(message.contains("FCM returned 400 INVALID_ARGUMENT"), "{message}");
    assert_eq!(end_offsets(&scenario.dead_letter_topic)?, vec![1]);

    let recorded = scenario.recorded();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].target, apns_token(11));
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(4));

    for line in [
        "offload_push_outcomes_total{outcome=\"token_gone\",platform=\"apns\",reason=\"Unregistered\"} 1",
        "offload_push_outcomes_total{outcome=\"token_gone\",platform=\"fcm\",reason=\"UNREGISTERED\"} 1",
        "offload_push_outcomes_total{outcome=\"permanent\",platform=\"fcm\",reason=\"INVALID_ARGUMENT\"} 1",
        "offload_push_outcomes_total{outcome=\"delivered\",platform=\"apns\",reason=\"none\"} 1",
        "offload_dead_letters_total{error_class=\"push_rejected\"} 1",
    ] {
        assert!(metrics.contains(line), "missing `{line}` in:\n{metrics}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_holds_the_entity() -> anyhow::Result<()> {
    // The FCM stand-in reads its clock once per messages:send request, to
    // check the access token's expiry, so this clock timestamps requests.
    let requests: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let clock_requests = Arc::clone(&requests);
    let now: Now = Arc::new(move || {
        clock_requests
            .lock()
            .expect("no test thread panics holding it")
            .push(Instant::now());
        SystemTime::now()
    });
    let scenario = PushScenario::new(Some(now)).await?;
    // Backoff alone would retry within 100 ms; only Retry-After explains 3 s.
    let config = scenario
        .config
        .clone()
        .run_setting("retry_initial_backoff_ms", "50")
        .run_setting("retry_max_backoff_ms", "100");
    let mut worker = WorkerProcess::spawn(&config)?;

    // The first send exchanges the OAuth2 token, which also reads the clock.
    publish_events(
        &scenario.topic,
        &[event("warm-up", vec![Action::from(token_push(&fcm_token(20)))])],
    )
    .await?;
    wait_for_target(&scenario.stand_ins, &fcm_token(20), 1).await?;
    requests.lock().expect("no test thread panics holding it").clear();
    let exchanges = scenario.stand_ins.fcm_token_exchanges();

    scenario.stand_ins.fcm_faults().set_for(
        &fcm_token(21),
        Fault {
            responses: [ScriptedResponse {
                status: 429,
                reason: None,
                retry_after_secs: Some(3),
                timestamp_ms: None,
            }]
            .into(),
            ..Fault::default()
        },
    );
    let held = event("user-3", vec![Action::from(token_push(&fcm_token(21)))]);
    let behind = event("user-3", vec![Action::from(token_push(&fcm_token(22)))]);
    publish_events(&scenario.topic, &[held, behind]).await?;

    // Another entity's event, published while the first one waits, runs
    // at once: the worker keeps polling the partition.
    let first_attempt = wait_for_requests(&requests, 1).await?;
    publish_events(
        &scenario.topic,
        &[event("user-4", vec![Action::from(token_push(&fcm_token(23)))])],
    )
    .await?;

    let mut committed_samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while scenario
        .stand_ins
        .recorded(&RecordFilter {
            target: Some(fcm_token(22)),
            ..RecordFilter::default()
        })
        .is_empty()
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the held-back event was not sent within 30 s"
        );
        let committed = group_lags(&scenario.group, &scenario.topic)
            .ok()
            .and_then(|lags| lags[0].committed);
        committed_samples.push((Instant::now(), committed));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scenario.drain(&worker, &scenario.group).await?;
    let metrics = metrics(&worker).await?;
    worker.terminate(Duration::from_secs(30))?;

    let times = requests.lock().expect("no test thread panics holding it").clone();
    assert_eq!(
        scenario.stand_ins.fcm_token_exchanges(),
        exchanges,
        "no new token exchange"
    );
    // First attempt (429), the other entity's send, the retry (200), the held-back event.
    assert_eq!(times.len(), 4, "{times:?}");
    assert_eq!(times[0], first_attempt);
    let retry = times[2];
    let waited = retry - first_attempt;
    assert!(waited >= Duration::from_secs(3), "retried after {waited:?}");
    assert!(waited < Duration::from_secs(6), "retried after {waited:?}");
    assert!(times[1] < retry, "the other entity's send waited for the retry");

    let order: Vec<String> = scenario.recorded().into_iter().map(|record| record.target).collect();
    assert_eq!(order, vec![fcm_token(20), fcm_token(23), fcm_token(21), fcm_token(22)]);

    // Offsets: 0 warm-up, 1 held, 2 behind, 3 the other entity. Until the
    // retry succeeded, the committed offset stayed at 1, the held event.
    let during_wait: Vec<_> = committed_samples
        .iter()
        .filter(|(at, _)| *at > first_attempt && *at < retry)
        .collect();
    assert!(during_wait.len() >= 5, "{committed_samples:?}");
    for (_, committed) in &during_wait {
        assert!(committed.is_none_or(|offset| offset <= 1), "{committed_samples:?}");
    }
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(4));

    for line in [
        "offload_push_outcomes_total{outcome=\"retryable\",platform=\"fcm\",reason=\"RESOURCE_EXHAUSTED\"} 1",
        "offload_push_outcomes_total{outcome=\"delivered\",platform=\"fcm\",reason=\"none\"} 4",
        "offload_retries_total{error_class=\"push_transient\",kind=\"fcm_push\"} 1",
    ] {
        assert!(metrics.contains(line), "missing `{line}` in:\n{metrics}");
    }
    Ok(())
}

/// Waits until the clock recorded `count` requests and returns the last one.
async fn wait_for_requests(requests: &Mutex<Vec<Instant>>, count: usize) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(at) = requests
            .lock()
            .expect("no test thread panics holding it")
            .get(count - 1)
        {
            return Ok(*at);
        }
        anyhow::ensure!(Instant::now() < deadline, "no request {count} within 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_push_carries_the_same_derived_ids() -> anyhow::Result<()> {
    let scenario = PushScenario::new(None).await?;
    let android_fcm = FcmPush {
        android: Some(FcmAndroidConfig::default()),
        ..token_push(&fcm_token(30))
    };
    let replayed = event(
        "user-5",
        vec![Action::from(alert_push(&apns_token(30))), Action::from(android_fcm)],
    );
    publish_events(&scenario.topic, std::slice::from_ref(&replayed)).await?;

    // A second group consumes the same record again, as a replay after a
    // crash or a reset offset would.
    let second_group = unique_name("group");
    let second_config = WorkerConfigBuilder::new(&scenario.topic, &scenario.dead_letter_topic, &second_group)
        .push_feedback_topic(&scenario.feedback_topic)
        .extra(&push_tables(&scenario.stand_ins));
    let mut first = WorkerProcess::spawn(&scenario.config)?;
    let mut second = WorkerProcess::spawn(&second_config)?;
    scenario.drain(&first, &scenario.group).await?;
    scenario.drain(&second, &second_group).await?;
    first.terminate(Duration::from_secs(30))?;
    second.terminate(Duration::from_secs(30))?;

    let apns = wait_for_target(&scenario.stand_ins, &apns_token(30), 2).await?;
    let fcm = wait_for_target(&scenario.stand_ins, &fcm_token(30), 2).await?;
    assert_eq!(apns.len(), 2);
    assert_eq!(fcm.len(), 2);
    let apns_ids = derive_ids(replayed.event_id, 0);
    let fcm_ids = derive_ids(replayed.event_id, 1);
    for record in &apns {
        assert_eq!(record.headers.get("apns-id"), Some(&apns_ids.apns_id.to_string()));
        assert_eq!(record.headers.get("apns-collapse-id"), Some(&apns_ids.collapse_id));
        assert_eq!(record.id, apns_ids.apns_id.to_string());
    }
    for record in &fcm {
        assert_eq!(record.body["android"]["collapse_key"], json!(fcm_ids.collapse_id));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn push_for_unconfigured_platform_is_dead_lettered() -> anyhow::Result<()> {
    let scenario = PushScenario::new(None).await?;
    let apns_only = push_tables(&scenario.stand_ins);
    let apns_only = apns_only
        .split("\n[fcm]")
        .next()
        .context("the push tables start with [apns]")?;
    let config = WorkerConfigBuilder::new(&scenario.topic, &scenario.dead_letter_topic, &scenario.group)
        .push_feedback_topic(&scenario.feedback_topic)
        .extra(apns_only);
    let fcm = event("user-6", vec![Action::from(token_push(&fcm_token(40)))]);
    let apns = event("user-6", vec![Action::from(alert_push(&apns_token(40)))]);
    publish_events(&scenario.topic, &[fcm, apns]).await?;

    let mut worker = WorkerProcess::spawn(&config)?;
    scenario.drain(&worker, &scenario.group).await?;
    worker.terminate(Duration::from_secs(30))?;

    let letters = read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].header("offload-dlq-source-offset"), Some("0"));
    assert_eq!(
        letters[0].header("offload-dlq-error-class"),
        Some("push_not_configured")
    );
    let message = letters[0].header("offload-dlq-error-message").unwrap_or_default();
    assert!(message.contains("no [fcm] configuration"), "{message}");
    let recorded = scenario.recorded();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].target, apns_token(40));
    Ok(())
}
