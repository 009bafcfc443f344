//! The worker's /metrics, /healthz and /readyz after a known run, and a
//! record written with a newer schema version.

use std::time::Duration;

use offload_e2e::newer_schema::{encode_with_new_symbol, newer_schema_json};
use offload_e2e::workload::{self, STATEMENTS, TABLES};
use offload_e2e::{http, kafka_bootstrap, wait_for_drain, Scenario, WorkerProcess};
use offload_schemas::{Action, Codec, Consistency};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

async fn produce(topic: &str, records: &[Vec<u8>]) -> anyhow::Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    for record in records {
        producer
            .send(
                FutureRecord::to(topic).key("entity-0000").payload(record),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(error, _)| error)?;
    }
    Ok(())
}

/// Scrapes /metrics until `line` appears or `timeout` passes.
async fn wait_for_metric(port: u16, line: &str, timeout: Duration) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (_, body) = http::get(port, "/metrics").await?;
        if body.lines().any(|found| found == line) || std::time::Instant::now() >= deadline {
            return Ok(body);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Reads `offload_commits_total` from a /metrics body, 0 when absent.
fn commit_count(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("offload_commits_total "))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_report_a_known_run() -> anyhow::Result<()> {
    let scenario = Scenario::new(1, &TABLES, &STATEMENTS).await?;
    let folder = tempfile::tempdir()?;
    let newer_path = folder.path().join("dispatch_event_next.avsc");
    std::fs::write(&newer_path, newer_schema_json()?)?;
    let config = scenario.config.clone().extra(&format!(
        "\n[schemas]\nwriter_schema_files = [\"{}\"]\n",
        newer_path.display()
    ));

    let codec = Codec::new();
    let mut newer_event = workload::event("entity-0000", 3);
    for action in &mut newer_event.actions {
        if let Action::CassandraWrite(write) = action {
            write.consistency = Some(Consistency::LocalOne);
        }
    }
    let records = vec![
        codec.encode(&workload::event("entity-0000", 0))?,
        codec.encode(&workload::event("entity-0000", 1))?,
        b"garbage".to_vec(),
        codec.encode(&workload::event("entity-0000", 2))?,
        encode_with_new_symbol(&newer_event)?,
    ];
    produce(&scenario.topic, &records).await?;

    let mut worker = WorkerProcess::spawn(&config)?;
    let port = worker.metrics_port();
    if let Err(error) = wait_for_drain(&scenario.group, &scenario.topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    let lag_line = format!("offload_consumer_lag{{partition=\"0\",topic=\"{}\"}} 0", scenario.topic);
    let metrics = wait_for_metric(port, &lag_line, Duration::from_secs(15)).await?;
    // Nothing finishes any more, so the interval commits (every 200 ms here)
    // must find nothing new to send.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, idle_metrics) = http::get(port, "/metrics").await?;
    let health = http::get(port, "/healthz").await?;
    let ready = http::get(port, "/readyz").await?;
    worker.terminate(Duration::from_secs(30))?;

    let expected = [
        "offload_events_total{outcome=\"executed\"} 4",
        "offload_events_total{outcome=\"dead_lettered\"} 1",
        "offload_dead_letters_total{error_class=\"undecodable\"} 1",
        "offload_actions_total{kind=\"cassandra_write\",outcome=\"ok\"} 8",
        "offload_enum_defaults_total{field=\"consistency\"} 1",
        "offload_rebalances_total{kind=\"assign\"} 1",
        "offload_in_flight_events 0",
        "offload_paused_partitions 0",
        "offload_action_duration_seconds_count{kind=\"cassandra_write\"} 8",
        "offload_event_end_to_end_seconds_count{outcome=\"executed\"} 4",
        lag_line.as_str(),
    ];
    for line in expected {
        assert!(
            metrics.lines().any(|found| found == line),
            "missing `{line}` in:\n{metrics}"
        );
    }
    let commits = commit_count(&metrics);
    assert!(commits > 0, "no commit was counted:\n{metrics}");
    assert_eq!(
        commit_count(&idle_metrics),
        commits,
        "offsets were committed again while nothing finished:\n{idle_metrics}"
    );
    assert!(
        !metrics.contains("offload_retries_total{"),
        "no retry was expected:\n{metrics}"
    );
    assert_eq!(health.0, 200);
    assert_eq!(ready.0, 200);

    let rows = workload::read_events(&scenario.session, &scenario.keyspace).await?;
    let sequences: Vec<i32> = rows.iter().map(|(_, seq, _)| *seq).collect();
    assert_eq!(sequences, vec![0, 1, 2, 3], "the newer-schema event was not applied");
    Ok(())
}
