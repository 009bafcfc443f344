//! `offload-produce` publishes JSON lines, reports bad lines with their
//! number and field, and continues or stops as `--on-error` sets.

use std::process::Command;
use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_schemas::{Action, Codec, CqlValue};

const GOOD: &str = r#"{"actions": [{"entity_key": "post-N", "action": {"cassandra_write": {"statement": "add_like", "values": [{"counter_delta": 1}, {"text": "post-N"}]}}}]}"#;
const BAD_DATA: &str =
    r#"{"actions": [{"entity_key": "u1", "action": {"fcm_push": {"token": "t", "data": {"badge": 5}}}}]}"#;

fn good(n: usize) -> String {
    GOOD.replace("post-N", &format!("post-{n}"))
}

/// Runs offload-produce on `lines` and returns its exit status and standard error.
fn produce(topic: &str, lines: &[String], extra: &[&str]) -> anyhow::Result<(Option<i32>, String)> {
    let folder = tempfile::tempdir()?;
    let input = folder.path().join("requests.jsonl");
    std::fs::write(&input, lines.join("\n"))?;
    let output = Command::new(env!("CARGO_BIN_EXE_offload-produce"))
        .arg(&input)
        .args(["--bootstrap-servers", &kafka_bootstrap(), "--topic", topic])
        .args(extra)
        .output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Entity keys of the records in `topic`, read until `expected` arrived or `timeout` passed.
fn posts_in(topic: &str, expected: usize, timeout: Duration) -> anyhow::Result<Vec<String>> {
    let codec = Codec::new();
    let mut posts = Vec::new();
    for record in read_topic(topic, expected, timeout)? {
        let event = codec.decode(record.payload.as_deref().unwrap_or_default())?;
        let Action::CassandraWrite(write) = &event.actions[0] else {
            anyhow::bail!("expected a Cassandra write, found {:?}", event.actions[0]);
        };
        assert_eq!(write.values[0], CqlValue::CounterDelta(1));
        posts.push(event.entity_key);
    }
    posts.sort();
    Ok(posts)
}

#[tokio::test(flavor = "multi_thread")]
async fn continue_reports_bad_lines_and_publishes_the_rest() -> anyhow::Result<()> {
    let topic = unique_name("cli");
    create_topic(&topic, 1).await?;
    let lines = vec![good(1), BAD_DATA.to_string(), "{not json".to_string(), good(2), good(3)];

    let (status, stderr) = produce(&topic, &lines, &["--on-error", "continue", "--rate", "200"])?;

    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "line 2: field `actions[0].action.fcm_push.data.badge`: invalid type: integer `5`, expected a string"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("line 3: "), "{stderr}");
    assert!(
        stderr.contains("3 requests: 3 events delivered, 0 failed, 2 bad lines"),
        "{stderr}"
    );
    assert_eq!(
        posts_in(&topic, 3, Duration::from_secs(20))?,
        ["post-1", "post-2", "post-3"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_ends_at_first_bad_line() -> anyhow::Result<()> {
    let topic = unique_name("cli");
    create_topic(&topic, 1).await?;
    let lines = vec![good(1), BAD_DATA.to_string(), good(2)];

    let (status, stderr) = produce(&topic, &lines, &["--on-error", "stop"])?;

    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2: field `actions[0].action.fcm_push.data.badge`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 requests: 1 events delivered, 0 failed, 1 bad lines"),
        "{stderr}"
    );
    // Nothing after the bad line: wait a little for a record that must not come.
    assert_eq!(posts_in(&topic, 2, Duration::from_secs(3))?, ["post-1"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_name_line_and_field() -> anyhow::Result<()> {
    let topic = unique_name("cli");
    create_topic(&topic, 1).await?;
    let two_targets = r#"{"actions": [{"entity_key": "u1", "action": {"fcm_push": {"token": "t", "topic": "news"}}}]}"#;
    let lines = vec![two_targets.to_string(), good(1)];

    let (status, stderr) = produce(&topic, &lines, &["--on-error", "continue"])?;

    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("line 1: entity `u1`, field `actions[0].topic`: an FCM push needs exactly one of token, topic and condition"),
        "{stderr}"
    );
    assert_eq!(posts_in(&topic, 1, Duration::from_secs(20))?, ["post-1"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_run_exits_zero() -> anyhow::Result<()> {
    let topic = unique_name("cli");
    create_topic(&topic, 1).await?;

    let (status, stderr) = produce(&topic, &[good(1), String::new(), good(2)], &[])?;

    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains("2 requests: 2 events delivered, 0 failed, 0 bad lines"),
        "{stderr}"
    );
    Ok(())
}
