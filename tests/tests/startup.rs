//! The worker stops at start-up with an error that names the fix when a
//! dependency is unreachable or the configuration is wrong, without hanging
//! or panicking.

use std::time::Duration;

use offload_e2e::push::push_tables;
use offload_e2e::workload::TABLES;
use offload_e2e::{
    cassandra_session, create_keyspace, create_topic, kafka_bootstrap, unique_name, worker_binary, WorkerConfigBuilder,
    WorkerProcess,
};
use offload_standins::{StandIns, StandInsConfig};

/// A loopback port nothing listens on (port 1 is reserved for tcpmux).
const CLOSED_ADDRESS: &str = "127.0.0.1:1";

/// Start-up must give up well before this.
const EXIT_DEADLINE: Duration = Duration::from_secs(45);

fn assert_clean_failure(log: &str) {
    assert!(!log.contains("panicked"), "the worker panicked:\n{log}");
    assert!(
        !log.contains("stack backtrace"),
        "the worker printed a backtrace:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_kafka_names_the_fix() -> anyhow::Result<()> {
    let config =
        WorkerConfigBuilder::new("dispatch", "dead-letter", &unique_name("group")).bootstrap_servers(CLOSED_ADDRESS);

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("cannot reach Kafka at 127.0.0.1:1"), "{log}");
    assert!(log.contains("OFFLOAD_KAFKA__BOOTSTRAP_SERVERS"), "{log}");
    assert!(log.contains("deploy/local/stack up"), "{log}");
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_cassandra_names_the_fix() -> anyhow::Result<()> {
    let config =
        WorkerConfigBuilder::new("dispatch", "dead-letter", &unique_name("group")).contact_point(CLOSED_ADDRESS);

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("Cassandra at 127.0.0.1:1"), "{log}");
    assert!(log.contains("OFFLOAD_CASSANDRA__CONTACT_POINTS"), "{log}");
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_topic_names_the_fix() -> anyhow::Result<()> {
    let topic = unique_name("absent");
    let config = WorkerConfigBuilder::new(&topic, "dead-letter", &unique_name("group"));

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("topic `{topic}` does not exist")), "{log}");
    assert!(log.contains("OFFLOAD_TOPICS__DISPATCH"), "{log}");
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_dead_letter_topic_names_the_fix() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    create_topic(&topic, 1).await?;
    let dead_letter_topic = unique_name("absent_dlq");
    let config = WorkerConfigBuilder::new(&topic, &dead_letter_topic, &unique_name("group"));

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!("topic `{dead_letter_topic}` does not exist")),
        "{log}"
    );
    assert!(
        log.contains("topics.dead_letter (OFFLOAD_TOPICS__DEAD_LETTER)"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "offload-admin create-topic --bootstrap-servers {}",
            kafka_bootstrap()
        )),
        "{log}"
    );
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_feedback_topic_names_the_fix() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    let dead_letter_topic = format!("{topic}_dlq");
    create_topic(&topic, 1).await?;
    create_topic(&dead_letter_topic, 1).await?;
    let feedback_topic = unique_name("absent_feedback");
    let credentials = tempfile::tempdir()?;
    let stand_ins = StandIns::start(StandInsConfig::new(credentials.path())).await?;
    let config = WorkerConfigBuilder::new(&topic, &dead_letter_topic, &unique_name("group"))
        .push_feedback_topic(&feedback_topic)
        .extra(&push_tables(&stand_ins));

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!("topic `{feedback_topic}` does not exist")),
        "{log}"
    );
    assert!(
        log.contains("topics.push_feedback (OFFLOAD_TOPICS__PUSH_FEEDBACK)"),
        "{log}"
    );
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_statement_is_named() -> anyhow::Result<()> {
    let keyspace = unique_name("startup");
    let topic = unique_name("dispatch");
    create_topic(&topic, 1).await?;
    let session = cassandra_session().await?;
    create_keyspace(&session, &keyspace, &TABLES).await?;
    let config = WorkerConfigBuilder::new(&topic, "dead-letter", &unique_name("group"))
        .statement(
            "good",
            &format!("INSERT INTO {keyspace}.entity_events (entity, seq, body) VALUES (?, ?, ?)"),
            true,
        )
        .statement(
            "broken",
            &format!("INSERT INTO {keyspace}.no_such_table (id) VALUES (?)"),
            true,
        );

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("statement `broken` of the catalog is invalid"), "{log}");
    assert!(log.contains("no_such_table"), "Cassandra's message is missing:\n{log}");
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_config_key_is_named() -> anyhow::Result<()> {
    let config =
        WorkerConfigBuilder::new("dispatch", "dead-letter", &unique_name("group")).extra("[retries]\nbackoff_ms = 5\n");

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("retries"), "{log}");
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_apns_key_is_named() -> anyhow::Result<()> {
    let missing_key = "/nonexistent/offload/AuthKey_ABC123DEFG.p8";
    let config = WorkerConfigBuilder::new("dispatch", "dead-letter", &unique_name("group")).extra(&format!(
        "\n[apns]\nauth = {{ method = \"token\", key_path = \"{missing_key}\", key_id = \"ABC123DEFG\", team_id = \"TEAM123456\" }}\n"
    ));

    let mut worker = WorkerProcess::spawn(&config)?;
    let status = worker.wait(EXIT_DEADLINE)?;

    let log = worker.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("the [apns] configuration cannot be used"), "{log}");
    assert!(
        log.contains(&format!("cannot read the APNs signing key `{missing_key}`")),
        "{log}"
    );
    assert_clean_failure(&log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_reads_push_credentials() -> anyhow::Result<()> {
    let missing_key = "/nonexistent/offload/AuthKey_ABC123DEFG.p8";
    let config = WorkerConfigBuilder::new("dispatch", "dead-letter", &unique_name("group")).extra(&format!(
        "\n[apns]\nauth = {{ method = \"token\", key_path = \"{missing_key}\", key_id = \"ABC123DEFG\", team_id = \"TEAM123456\" }}\n"
    ));
    let folder = tempfile::tempdir()?;
    let path = folder.path().join("worker.toml");
    std::fs::write(&path, config.render(9464))?;

    let output = std::process::Command::new(worker_binary()?)
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .output()?;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the [apns] configuration cannot be used"), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read the APNs signing key `{missing_key}`")),
        "{stderr}"
    );
    Ok(())
}
