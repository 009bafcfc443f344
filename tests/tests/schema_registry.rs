//! Records in the Confluent wire format. A worker configured with the
//! schema registry applies them, and a worker without one dead-letters them
//! with the key to set. The registry is a stand-in on 127.0.0.1.

use std::time::Duration;

use anyhow::Context;
use offload_e2e::registry::StandInRegistry;
use offload_e2e::workload::{self, STATEMENTS, TABLES};
use offload_e2e::{group_lags, kafka_bootstrap, publish_events, read_topic, wait_for_drain, Scenario, WorkerProcess};
use offload_producer::{Publisher, PublisherConfig};
use offload_schemas::DispatchEvent;

const ENTITY: &str = "entity-0001";

/// Publishes `events` through a publisher that registers the schema with
/// `registry` and writes the Confluent wire format.
async fn publish_with_registry(
    topic: &str,
    registry: &StandInRegistry,
    events: &[DispatchEvent],
) -> anyhow::Result<()> {
    let mut config = PublisherConfig::new(kafka_bootstrap(), topic, "offload-e2e");
    config.schema_registry_url = Some(registry.url.clone());
    let publisher = Publisher::connect(config).await?;
    for event in events {
        let delivery = publisher.publish(event.clone()).await?;
        tokio::time::timeout(Duration::from_secs(30), delivery.wait())
            .await
            .context("delivery timed out")??;
    }
    Ok(())
}

async fn drain(scenario: &Scenario, worker: &mut WorkerProcess) -> anyhow::Result<()> {
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    let status = worker.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "worker exited with {status}:\n{}", worker.log_text());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_applies_records_through_the_registry() -> anyhow::Result<()> {
    let registry = StandInRegistry::start().await?;
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    let events: Vec<DispatchEvent> = (0..3).map(|seq| workload::event(ENTITY, seq)).collect();
    publish_with_registry(&scenario.topic, &registry, &events).await?;
    let config = scenario
        .config
        .clone()
        .extra(&format!("\n[schemas]\nregistry_url = \"{}\"\n", registry.url));

    let mut worker = WorkerProcess::spawn(&config)?;
    drain(&scenario, &mut worker).await?;

    let records = read_topic(&scenario.topic, 3, Duration::from_secs(30))?;
    for record in &records {
        let payload = record.payload.as_deref().unwrap_or_default();
        assert_eq!(&payload[..5], &[0, 0, 0, 0, 1], "magic byte and schema id 1");
    }
    let rows = workload::read_events(&scenario.session, &scenario.keyspace).await?;
    let expected: Vec<(String, i32, String)> = (0..3)
        .map(|seq| (ENTITY.to_string(), seq as i32, workload::body(ENTITY, seq)))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(3));
    let requests = registry.requests();
    let fetches = requests
        .iter()
        .filter(|request| *request == "GET /schemas/ids/1")
        .count();
    assert_eq!(fetches, 1, "the worker fetches the schema once: {requests:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unavailable_registry_holds_the_record() -> anyhow::Result<()> {
    let registry = StandInRegistry::start().await?;
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_with_registry(&scenario.topic, &registry, &[workload::event(ENTITY, 0)]).await?;
    registry.set_unavailable(true);
    let config = scenario
        .config
        .clone()
        .run_setting("retry_max_backoff_ms", "200")
        .extra(&format!("\n[schemas]\nregistry_url = \"{}\"\n", registry.url));

    let mut worker = WorkerProcess::spawn(&config)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while registry
        .requests()
        .iter()
        .filter(|request| request.starts_with("GET"))
        .count()
        < 3
    {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the worker did not retry the registry: {:?}\n{}",
            registry.requests(),
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows_while_unavailable = workload::read_events(&scenario.session, &scenario.keyspace).await?;
    let committed_while_unavailable = group_lags(&scenario.group, &scenario.topic)?[0].committed;
    registry.set_unavailable(false);
    drain(&scenario, &mut worker).await?;

    assert!(rows_while_unavailable.is_empty(), "{rows_while_unavailable:?}");
    assert_ne!(
        committed_while_unavailable,
        Some(1),
        "the offset moved past the waiting record"
    );
    let rows = workload::read_events(&scenario.session, &scenario.keyspace).await?;
    assert_eq!(rows, vec![(ENTITY.to_string(), 0, workload::body(ENTITY, 0))]);
    assert_eq!(offload_e2e::end_offsets(&scenario.dead_letter_topic)?, vec![0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_records_without_registry_are_dead_lettered() -> anyhow::Result<()> {
    let registry = StandInRegistry::start().await?;
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    publish_with_registry(&scenario.topic, &registry, &[workload::event(ENTITY, 0)]).await?;
    publish_events(&scenario.topic, &[workload::event(ENTITY, 1)]).await?;

    let mut worker = WorkerProcess::spawn(&scenario.config)?;
    drain(&scenario, &mut worker).await?;

    let rows = workload::read_events(&scenario.session, &scenario.keyspace).await?;
    assert_eq!(rows, vec![(ENTITY.to_string(), 1, workload::body(ENTITY, 1))]);
    assert_eq!(group_lags(&scenario.group, &scenario.topic)?[0].committed, Some(2));
    let letters = read_topic(&scenario.dead_letter_topic, 1, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].header("offload-dlq-source-offset"), Some("0"));
    assert_eq!(letters[0].header("offload-dlq-error-class"), Some("undecodable"));
    let message = letters[0].header("offload-dlq-error-message").unwrap_or_default();
    assert!(message.contains("schema id 1"), "{message}");
    assert!(message.contains("schemas.registry_url"), "{message}");
    Ok(())
}
