//! The producer's bounded queue waits or fails as configured when it is
//! full, and never drops an event: every accepted event reaches Kafka or
//! reports a failure, and every rejected one is returned to the caller.
//!
//! The tests run on tokio's current-thread runtime, where the publisher's
//! background task runs only while the test awaits. A dispatch that finds
//! room never awaits, so a loop of dispatches fills the queue exactly.

use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_producer::{
    DispatchError, Dispatcher, FullQueuePolicy, PublishError, Publisher, PublisherConfig, QueueConfig,
};
use offload_schemas::{Action, CassandraWrite, Codec, CqlValue};
use prometheus::Registry;
use uuid::Uuid;

fn write(seq: i64) -> Action {
    Action::CassandraWrite(CassandraWrite::new("count", vec![CqlValue::BigInt(seq)]))
}

fn config(topic: &str, capacity: usize, when_full: FullQueuePolicy, metrics: &Registry) -> PublisherConfig {
    let mut config = PublisherConfig::new(kafka_bootstrap(), topic, "queue-test");
    config.queue = QueueConfig { capacity, when_full };
    config.metrics_registry = Some(metrics.clone());
    config
}

/// Reads a counter or gauge with the given labels from the rendered text
/// exposition, or 0 when the line is absent.
fn metric(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .expect("metrics render as text");
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .find(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .map(|value| value.parse().expect("a metric value is a number"))
        .unwrap_or(0.0)
}

/// Event ids of every record in `topic`.
fn ids_in_topic(topic: &str, expected: usize) -> anyhow::Result<Vec<Uuid>> {
    let codec = Codec::new();
    let mut ids = Vec::new();
    for record in read_topic(topic, expected, Duration::from_secs(30))? {
        ids.push(codec.decode(record.payload.as_deref().unwrap_or_default())?.event_id);
    }
    ids.sort();
    Ok(ids)
}

#[tokio::test]
async fn fail_policy_rejects_without_waiting() -> anyhow::Result<()> {
    let topic = unique_name("queue");
    create_topic(&topic, 1).await?;
    let metrics = Registry::new();
    let publisher = Publisher::new(config(&topic, 8, FullQueuePolicy::Fail, &metrics))?;

    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for seq in 0..30 {
        let mut dispatcher = Dispatcher::new(&publisher);
        dispatcher.add(format!("entity-{seq}"), write(seq));
        match dispatcher.dispatch().await {
            Ok(deliveries) => accepted.extend(deliveries),
            Err(DispatchError::QueueFull { events, waited, .. }) => {
                assert_eq!(waited, Duration::ZERO);
                rejected.extend(events);
            }
            Err(other) => return Err(other.into()),
        }
    }
    let mut accepted_ids: Vec<Uuid> = accepted.iter().map(|delivery| delivery.event_id()).collect();
    for delivery in accepted {
        delivery.wait().await?;
    }

    assert_eq!(accepted_ids.len(), 8);
    assert_eq!(rejected.len(), 22);
    accepted_ids.sort();
    assert_eq!(ids_in_topic(&topic, 8)?, accepted_ids);
    assert_eq!(
        metric(
            &metrics,
            "offload_producer_queue_full_total",
            &[("policy", "fail"), ("outcome", "rejected")]
        ),
        22.0
    );
    assert_eq!(metric(&metrics, "offload_producer_events_enqueued_total", &[]), 8.0);
    assert_eq!(
        metric(
            &metrics,
            "offload_producer_deliveries_total",
            &[("outcome", "delivered")]
        ),
        8.0
    );
    assert_eq!(metric(&metrics, "offload_producer_queue_events", &[]), 0.0);
    Ok(())
}

#[tokio::test]
async fn wait_policy_waits_for_room_and_delivers_everything() -> anyhow::Result<()> {
    let topic = unique_name("queue");
    create_topic(&topic, 1).await?;
    let metrics = Registry::new();
    let policy = FullQueuePolicy::Wait {
        max_wait: Duration::from_secs(10),
    };
    let publisher = Publisher::new(config(&topic, 4, policy, &metrics))?;

    let mut deliveries = Vec::new();
    for seq in 0..40 {
        let mut dispatcher = Dispatcher::new(&publisher);
        dispatcher.add(format!("entity-{seq}"), write(seq));
        deliveries.extend(dispatcher.dispatch().await?);
    }
    let mut ids: Vec<Uuid> = deliveries.iter().map(|delivery| delivery.event_id()).collect();
    for delivery in deliveries {
        delivery.wait().await?;
    }

    ids.sort();
    assert_eq!(ids.len(), 40);
    assert_eq!(ids_in_topic(&topic, 40)?, ids);
    let waited = metric(
        &metrics,
        "offload_producer_queue_full_total",
        &[("policy", "wait"), ("outcome", "waited")],
    );
    assert!(waited >= 1.0, "no dispatch found the queue full: {waited}");
    assert_eq!(
        metric(
            &metrics,
            "offload_producer_queue_full_total",
            &[("outcome", "rejected")]
        ),
        0.0
    );
    assert_eq!(
        metric(
            &metrics,
            "offload_producer_deliveries_total",
            &[("outcome", "delivered")]
        ),
        40.0
    );
    Ok(())
}

/// With Kafka unreachable nothing leaves the queue: a dispatch that waits
/// longer than the policy allows fails with its events, and every accepted
/// event reports its failure once librdkafka's message timeout passes.
#[tokio::test]
async fn wait_deadline_rejects_and_reports_failures() -> anyhow::Result<()> {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let metrics = Registry::new();
    let policy = FullQueuePolicy::Wait {
        max_wait: Duration::from_millis(200),
    };
    let mut config = config("unreachable", 2, policy, &metrics);
    config.bootstrap_servers = format!("127.0.0.1:{closed_port}");
    config.kafka.insert("queue.buffering.max.messages".into(), "1".into());
    config.kafka.insert("message.timeout.ms".into(), "500".into());
    let publisher = Publisher::new(config)?;

    let mut accepted = Vec::new();
    let mut rejected = None;
    for seq in 0..6 {
        let mut dispatcher = Dispatcher::new(&publisher);
        dispatcher.add(format!("entity-{seq}"), write(seq));
        match dispatcher.dispatch().await {
            Ok(deliveries) => accepted.extend(deliveries),
            Err(DispatchError::QueueFull { events, waited, .. }) => {
                rejected = Some((seq, events.len(), waited));
                break;
            }
            Err(other) => return Err(other.into()),
        }
    }

    let (seq, events, waited) = rejected.expect("a dispatch found no room within 200 ms");
    assert_eq!(events, 1, "dispatch {seq}");
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(!accepted.is_empty());
    let count = accepted.len();
    for delivery in accepted {
        let outcome = tokio::time::timeout(Duration::from_secs(30), delivery.wait()).await?;
        assert!(matches!(outcome, Err(PublishError::Delivery { .. })), "{outcome:?}");
    }
    assert_eq!(
        metric(
            &metrics,
            "offload_producer_queue_full_total",
            &[("policy", "wait"), ("outcome", "rejected")]
        ),
        1.0
    );
    assert_eq!(
        metric(&metrics, "offload_producer_deliveries_total", &[("outcome", "failed")]),
        count as f64
    );
    assert_eq!(publisher.pending(), 0);
    Ok(())
}
