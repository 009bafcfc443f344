//! A small drain run against the local stack, so the harness itself stays
//! working: it must complete, and its checks must hold. The rates of so
//! short a run mean nothing and are not asserted.

use std::time::Duration;

use offload_bench::{drain, DrainOptions};

#[tokio::test(flavor = "multi_thread")]
async fn small_drain_completes_and_verifies() {
    let options = DrainOptions {
        events: 2_000,
        partitions: 3,
        entities: 200,
        insert_sample: 2_000,
        publish_timeout: Duration::from_secs(60),
        consume_timeout: Duration::from_secs(60),
        insert_timeout: Duration::from_secs(60),
        drain_timeout: Duration::from_secs(120),
        verify_timeout: Duration::from_secs(60),
        ..DrainOptions::default()
    };

    let report = drain::run(&options).await.expect("the drain benchmark runs");

    assert_eq!(report.publish.count, 2_000);
    assert_eq!(report.raw_consume.rate.count, 2_000);
    assert_eq!(report.raw_insert.rate.count, 2_000);
    assert_eq!(report.raw_insert.failed, 0);
    assert_eq!(report.worker.rate.count, 2_000);
    assert_eq!(report.verification.rows, 2_000);
    assert_eq!(report.verification.sampled, 200);
    assert_eq!(report.verification.sampled_wrong, 0);
    assert_eq!(report.verification.dead_letters, 0);
    assert!(report.worker.stopped_cleanly);
    assert!(report.worker.peak_resident_bytes > 1024 * 1024, "{report}");
    assert!(report.ratio() > 0.0, "{report}");
    assert!(report.passed(), "{report}");
}
