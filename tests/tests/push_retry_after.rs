//! A 429 with `Retry-After: 30` under paused tokio time, through the
//! worker's own parts. The scheduler orders a partition's records by entity
//! and computes the committable offset. The processor runs an event with the
//! real APNs client against the stand-in on loopback and waits out a retry.
//! The worker binary's run loop ties the same two parts
//! together; `retry_after_holds_the_entity` in `push.rs` covers it in real time.
//!
//! Tokio time is paused after the set-up and does not advance by itself
//! (a blocking task holds it), so only `tokio::time::advance` moves it. The
//! stand-in's clock follows tokio's, so its receive times are paused time too.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use offload_consumer::dead_letter::DeadLetterProducer;
use offload_consumer::executor::{CassandraExecutor, Executor, PushExecutors};
use offload_consumer::process::{Outcome, Processor};
use offload_consumer::scheduler::{Accepted, Job, Partition, Scheduler};
use offload_consumer::telemetry::Telemetry;
use offload_consumer::WorkerConfig;
use offload_e2e::push::push_tables;
use offload_e2e::{unique_name, WorkerConfigBuilder};
use offload_push::{Clock, TokioClock};
use offload_schemas::{Action, ApnsAlert, ApnsPush, Codec, DispatchEvent};
use offload_standins::{Fault, RecordFilter, Recorded, ScriptedResponse, StandIns, StandInsConfig};
use rdkafka::message::{OwnedMessage, Timestamp};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const BUNDLE_ID: &str = "com.example.app";
/// Real time given to loopback I/O that should happen (a busy CI machine is slow).
const AWAITED_MS: u32 = 10_000;
/// Real time given to a request that should not happen before it is called absent.
const ABSENT_MS: u32 = 2_000;

fn device_token(number: u32) -> String {
    format!("{number:064x}")
}

fn record(codec: &Codec, topic: &str, offset: i64, entity: &str, token: &str) -> OwnedMessage {
    let event = DispatchEvent {
        event_id: Uuid::new_v4(),
        entity_key: entity.into(),
        created_at_us: 1_733_337_600_000_000,
        source_service: "offload-e2e".into(),
        actions: vec![Action::from(ApnsPush {
            device_token: token.into(),
            topic: BUNDLE_ID.into(),
            alert: Some(ApnsAlert {
                body: Some("Ada liked your photo".into()),
                ..ApnsAlert::default()
            }),
            ..ApnsPush::default()
        })],
    };
    let payload = codec.encode(&event).expect("the event encodes");
    OwnedMessage::new(
        Some(payload),
        Some(entity.as_bytes().to_vec()),
        topic.into(),
        Timestamp::NotAvailable,
        0,
        offset,
        None,
    )
}

/// Loads the configuration a worker of this test would run with.
fn worker_config(stand_ins: &StandIns, folder: &Path) -> WorkerConfig {
    let topic = unique_name("dispatch");
    let text = WorkerConfigBuilder::new(&topic, &format!("{topic}_dlq"), &unique_name("group"))
        .push_feedback_topic(&format!("{topic}_feedback"))
        // Paused time jumps 30 s at once, which HTTP/2 keep-alive would take
        // for an unanswered PING, so the connection keeps no keep-alive.
        .extra(&push_tables(stand_ins).replace("[fcm]", "keep_alive_interval_ms = 0\n\n[fcm]"))
        // Backoff alone would retry within 100 ms; only Retry-After explains 30 s.
        .run_setting("retry_initial_backoff_ms", "50")
        .run_setting("retry_max_backoff_ms", "100")
        .render(0);
    let path = folder.join("worker.toml");
    std::fs::write(&path, text).expect("the configuration file is written");
    WorkerConfig::load(Some(&path)).expect("the configuration loads")
}

async fn processor(config: &WorkerConfig) -> Processor {
    let telemetry = Telemetry::new();
    let push = PushExecutors::start(config, &telemetry).expect("the push executors start");
    let cassandra = CassandraExecutor::connect(&config.cassandra, &config.statements)
        .await
        .expect("Cassandra is up (deploy/local/stack up)");
    let dead_letters = DeadLetterProducer::new(&config.kafka, &config.topics.dead_letter, "push-retry-after")
        .expect("the dead-letter producer is created");
    Processor {
        executor: Executor::new(cassandra, push),
        dead_letters,
        codec: Codec::new(),
        registry: None,
        run: config.worker.clone(),
        telemetry,
        shutdown: CancellationToken::new(),
        concurrency: Semaphore::new(config.worker.max_concurrent_events),
    }
}

fn spawn(processor: &Arc<Processor>, job: &Job<OwnedMessage>) -> JoinHandle<Outcome> {
    let processor = Arc::clone(processor);
    let message = job.payload.clone();
    tokio::spawn(async move { processor.process(&message).await })
}

fn started(accepted: Accepted<OwnedMessage>) -> Job<OwnedMessage> {
    match accepted {
        Accepted::Start(job) => job,
        other => panic!("expected the record to start, it was {other:?}"),
    }
}

/// Lets loopback I/O run without moving paused time, until `done` returns true or
/// about `real_ms` milliseconds of real time have passed.
async fn settle(real_ms: u32, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..real_ms {
        if done() {
            return true;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    done()
}

fn recorded_for(stand_ins: &StandIns, token: &str) -> Vec<Recorded> {
    stand_ins.recorded(&RecordFilter {
        target: Some(token.into()),
        ..RecordFilter::default()
    })
}

fn unix_millis(time: SystemTime) -> u64 {
    let millis = time.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis();
    u64::try_from(millis).unwrap()
}

/// Keeps paused time from advancing by itself, because a running
/// `spawn_blocking` task stops auto-advance (tokio 1.54, `time::pause`).
fn hold_clock() -> std::sync::mpsc::Sender<()> {
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    tokio::task::spawn_blocking(move || {
        let _ = receiver.recv();
    });
    sender
}

#[tokio::test]
async fn retry_after_30_s_holds_entity_and_offset() {
    let folder = tempfile::tempdir().unwrap();
    let clock = Arc::new(TokioClock::new());
    let mut stand_ins_config = StandInsConfig::new(folder.path());
    let server_clock = Arc::clone(&clock);
    stand_ins_config.now = Arc::new(move || server_clock.now());
    let stand_ins = StandIns::start(stand_ins_config).await.unwrap();
    let config = worker_config(&stand_ins, folder.path());
    let processor = Arc::new(processor(&config).await);
    let codec = Codec::new();
    let topic = config.topics.dispatch.clone();

    // In real time: the connection, the TLS handshake and the provider token.
    let warm_up = record(&codec, &topic, 100, "warm-up", &device_token(1));
    assert_eq!(processor.process(&warm_up).await, Outcome::Finished);

    let (held, behind, other) = (device_token(2), device_token(3), device_token(4));
    stand_ins.apns_faults().set_for(
        &held,
        Fault {
            responses: [ScriptedResponse {
                status: 429,
                reason: Some("TooManyRequests".into()),
                retry_after_secs: Some(30),
                timestamp_ms: None,
            }]
            .into(),
            ..Fault::default()
        },
    );
    tokio::time::pause();
    let _hold = hold_clock();
    let paused_at_ms = unix_millis(clock.now());

    let partition: Partition = (topic.clone(), 0);
    let mut scheduler = Scheduler::new(config.worker.key_parallelism, config.worker.max_in_flight_per_partition);
    scheduler.assign(std::slice::from_ref(&partition));
    let held_job = started(scheduler.accept(&partition, 0, b"user-1", record(&codec, &topic, 0, "user-1", &held)));
    let held_task = spawn(&processor, &held_job);
    let behind_queued = scheduler.accept(&partition, 1, b"user-1", record(&codec, &topic, 1, "user-1", &behind));
    let retry_scheduled = settle(AWAITED_MS, || {
        processor
            .telemetry
            .render()
            .lines()
            .any(|line| line.starts_with("offload_retries_total{") && line.ends_with(" 1"))
    })
    .await;

    // The worker keeps taking records: another entity's event runs while user-1 waits.
    let other_job = started(scheduler.accept(&partition, 2, b"user-2", record(&codec, &topic, 2, "user-2", &other)));
    let other_outcome = spawn(&processor, &other_job).await.unwrap();
    let after_other = scheduler.finish(&partition, other_job.generation, other_job.offset, &other_job.key);
    let committable_while_held = scheduler.committable();
    // After each record the run loop marks a partition full once its window is
    // reached, and it reads only partitions that are not full.
    let full_while_held = scheduler.mark_if_full(&partition);
    let readable_while_held = scheduler.is_readable(&partition);

    // Tokio 1.54 rounds a timer deadline up to the next millisecond
    // (`TimeSource::deadline_to_tick`), so the retry is checked absent at
    // 29.999 s and present at 30.001 s.
    tokio::time::advance(Duration::from_millis(29_999)).await;
    let held_before_30_s = settle(ABSENT_MS, || !recorded_for(&stand_ins, &held).is_empty()).await;
    let held_task_done_before_30_s = held_task.is_finished();
    let readable_at_29_999_ms = scheduler.is_readable(&partition);

    tokio::time::advance(Duration::from_millis(2)).await;
    let delivered_after_30_s = settle(AWAITED_MS, || !recorded_for(&stand_ins, &held).is_empty()).await;
    let held_outcome = held_task.await.unwrap();
    let behind_job = scheduler.finish(&partition, held_job.generation, held_job.offset, &held_job.key);
    let committable_after_200 = scheduler.committable();
    let behind_job = behind_job.expect("user-1's next event starts once the held one finished");
    let behind_outcome = spawn(&processor, &behind_job).await.unwrap();
    scheduler.finish(&partition, behind_job.generation, behind_job.offset, &behind_job.key);
    let committable_at_end = scheduler.committable();

    assert!(matches!(behind_queued, Accepted::Queued), "{behind_queued:?}");
    assert!(retry_scheduled, "the 429 was not answered with a scheduled retry");
    assert_eq!(other_outcome, Outcome::Finished);
    assert!(after_other.is_none());
    assert_eq!(recorded_for(&stand_ins, &other).len(), 1);
    assert_eq!(
        committable_while_held,
        vec![(partition.clone(), 0)],
        "the offset stays at the held record"
    );
    assert!(!full_while_held, "the held record filled the partition's window");
    assert!(
        readable_while_held,
        "the run loop stops reading the partition while the retry waits"
    );
    assert!(
        readable_at_29_999_ms,
        "the run loop stops reading the partition while the retry waits"
    );
    assert!(!held_before_30_s, "retried before Retry-After passed");
    assert!(!held_task_done_before_30_s);
    assert!(delivered_after_30_s, "not retried once Retry-After passed");
    assert_eq!(held_outcome, Outcome::Finished);
    let delivered = &recorded_for(&stand_ins, &held)[0];
    assert!(
        delivered.received_at_ms >= paused_at_ms + 30_000,
        "retried {} ms after the 429",
        delivered.received_at_ms - paused_at_ms
    );
    assert_eq!(
        committable_after_200,
        vec![(partition.clone(), 1)],
        "the offset moves past the held record after the 200"
    );
    assert_eq!(behind_outcome, Outcome::Finished);
    let sent_behind = &recorded_for(&stand_ins, &behind)[0];
    assert!(
        sent_behind.sequence > delivered.sequence,
        "user-1's events stay in order"
    );
    assert_eq!(committable_at_end, vec![(partition, 3)]);
}
