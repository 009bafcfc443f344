//! The demo's path on a slice of the real input, against the real Kafka and
//! Cassandra, a real worker process and stand-in push servers. Every counter
//! and row read back from Cassandra and every notification the stand-ins
//! recorded must match the values counted from the input.

use std::path::PathBuf;
use std::time::Duration;

use offload_demo::input::Portion;
use offload_demo::worker::PushTargets;
use offload_demo::{run, summary, DemoConfig};
use offload_e2e::{cassandra_contact_point, create_topic, kafka_bootstrap, unique_name, worker_binary};
use offload_standins::{StandIns, StandInsConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_a_slice_verifies_exactly() -> anyhow::Result<()> {
    let folder = tempfile::tempdir()?;
    let stand_ins = StandIns::start(StandInsConfig::new(folder.path())).await?;
    let credentials = &stand_ins.credentials;
    let push = PushTargets {
        apns_url: stand_ins.apns_url(),
        fcm_url: stand_ins.fcm_url(),
        control_url: stand_ins.control_url(),
        ca_certificate: credentials.ca_certificate.clone(),
        apns_key: credentials.apns_key.clone(),
        apns_key_id: credentials.apns_key_id.clone(),
        apns_team_id: credentials.apns_team_id.clone(),
        fcm_service_account: credentials.fcm_service_account.clone(),
    };

    let topic = unique_name("demo");
    let dead_letter_topic = unique_name("demo_dlq");
    let feedback_topic = unique_name("demo_feedback");
    create_topic(&topic, 6).await?;
    create_topic(&dead_letter_topic, 1).await?;
    create_topic(&feedback_topic, 1).await?;

    let config = DemoConfig {
        data_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"),
        portion: Portion {
            messages: Some(400),
            site: true,
        },
        seed: 7,
        rate: 400.0,
        chaos: 0,
        bootstrap_servers: kafka_bootstrap(),
        contact_point: cassandra_contact_point(),
        topic,
        dead_letter_topic,
        feedback_topic,
        group: unique_name("demo"),
        keyspace: unique_name("demo"),
        bundle_id: "com.example.app".into(),
        worker_binary: worker_binary()?,
        push,
        drain_timeout: Duration::from_secs(45),
        progress: false,
        work_dir: folder.path().join("work"),
    };
    let outcome = run(&config).await?;
    let rendered = summary::render(&outcome, false);
    println!("{rendered}");

    assert!(outcome.passed, "{rendered}");
    let report = &outcome.report;
    assert_eq!(outcome.requests["message"], 400);
    assert_eq!(report.messages.exact, 400);
    assert_eq!(report.messages.expected, 400);
    assert!(report.comments.exact > 100, "{rendered}");
    assert_eq!(report.comments.exact, report.comments.expected);
    assert!(report.pushes.expected > 1_000, "{rendered}");
    assert_eq!(report.pushes.received, report.pushes.expected);
    assert_eq!(report.tables.len(), 6, "{rendered}");
    for (table, check) in &report.tables {
        assert!(check.cells > 0, "{table} has no cells");
        assert_eq!(check.exact, check.cells, "{table}: {rendered}");
    }
    assert_eq!(report.dead_letters, 0);
    // Every accepted notification went through the stand-ins' real protocol handling.
    let recorded = stand_ins.recorded(&Default::default());
    assert_eq!(recorded.len() as u64, report.pushes.received);
    Ok(())
}
