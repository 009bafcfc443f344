//! A small push run against the local Kafka and in-process stand-ins, so the
//! harness itself stays working: both worker runs must deliver exactly one
//! notification per event. The rates of so short a run mean nothing and are
//! not asserted.

use std::time::Duration;

use offload_bench::push::{self, PushOptions};

#[tokio::test(flavor = "multi_thread")]
async fn small_push_run_delivers_each_event_once() {
    let options = PushOptions {
        events: 300,
        partitions: 3,
        entities: 50,
        raw_sample: 200,
        publish_timeout: Duration::from_secs(60),
        raw_timeout: Duration::from_secs(60),
        drain_timeout: Duration::from_secs(60),
        ..PushOptions::default()
    };

    let report = push::run(&options).await.expect("the push benchmark runs");

    assert_eq!(report.publish.count, 300);
    assert_eq!(report.modes.len(), 2);
    let [parallel, one_at_a_time] = &report.modes[..] else {
        unreachable!("two modes were checked above");
    };
    assert!(parallel.mode.key_parallelism);
    assert_eq!(parallel.in_flight_bound, 256);
    assert!(!one_at_a_time.mode.key_parallelism);
    assert_eq!(one_at_a_time.in_flight_bound, 3);
    for run in &report.modes {
        assert_eq!(run.raw_client.count, 200, "{report}");
        assert_eq!(run.worker.rate.count, 300, "{report}");
        assert_eq!(run.deliveries.recorded, 300, "{report}");
        assert_eq!(run.deliveries.missing, 0, "{report}");
        assert_eq!(run.deliveries.duplicated, 0, "{report}");
        assert_eq!(run.deliveries.unexpected, 0, "{report}");
        assert!(run.worker.stopped_cleanly, "{report}");
        assert!(run.ratio(report.latency()) > 0.0, "{report}");
    }
    assert!(report.passed(), "{report}");
}
