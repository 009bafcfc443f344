//! Provider token lifetime against the APNs stand-in, under paused time.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use offload_push::{PushOutcome, Reason};
use offload_standins::RecordFilter;
use support::{alert, hold_clock, start};

const MINUTE: Duration = Duration::from_secs(60);

fn issue_times(harness: &support::Harness) -> Vec<u64> {
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    recorded
        .iter()
        .map(|record| record.provider_token_iat.unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn one_token_is_shared_by_connections_and_refreshed_in_window() {
    let _hold = hold_clock();
    let harness = start(|_| {}).await;
    let mut config = harness.apns_config();
    config.connections = 2;
    config.keep_alive_interval_ms = 0;
    let client = harness.apns_client(&config);

    let first_burst = join_all((1..5).map(|n| {
        let client = &client;
        async move { client.send(&alert(n)).await }
    }))
    .await;
    tokio::time::advance(49 * MINUTE).await;
    let before_refresh = client.send(&alert(5)).await;
    tokio::time::advance(MINUTE).await;
    let after_refresh = client.send(&alert(6)).await;
    let after_refresh_again = client.send(&alert(7)).await;

    assert!(
        first_burst.iter().all(|outcome| outcome.class() == "delivered"),
        "{first_burst:?}"
    );
    assert_eq!(before_refresh.class(), "delivered");
    assert_eq!(after_refresh.class(), "delivered");
    assert_eq!(after_refresh_again.class(), "delivered");
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    let connections: BTreeSet<_> = recorded[..4].iter().map(|record| record.connection).collect();
    assert_eq!(connections.len(), 2, "the burst used both connections");
    let iats = issue_times(&harness);
    assert!(
        iats[..5].iter().all(|iat| *iat == iats[0]),
        "one token until 50 minutes: {iats:?}"
    );
    assert_eq!(iats[5] - iats[0], 50 * 60, "refreshed at 50 minutes");
    assert_eq!(iats[6], iats[5]);
}

#[tokio::test(start_paused = true)]
async fn expired_provider_token_is_replaced_on_a_new_connection() {
    let _hold = hold_clock();
    let harness = start(|config| config.max_provider_token_age = 25 * MINUTE).await;
    let mut config = harness.apns_config();
    config.keep_alive_interval_ms = 0;
    let client = harness.apns_client(&config);

    let first = client.send(&alert(1)).await;
    tokio::time::advance(30 * MINUTE).await;
    let rejected = client.send(&alert(2)).await;
    let retried = client.send(&alert(2)).await;

    assert_eq!(first.class(), "delivered");
    let PushOutcome::Retryable {
        reason, retry_after, ..
    } = &rejected
    else {
        panic!("expected retryable, got {rejected:?}");
    };
    assert!(matches!(reason, Reason::Apns { status: 403, .. }));
    assert_eq!(reason.label(), "ExpiredProviderToken");
    assert_eq!(*retry_after, None);
    assert_eq!(retried.class(), "delivered");
    let iats = issue_times(&harness);
    assert_eq!(iats[1] - iats[0], 30 * 60, "a new token after ExpiredProviderToken");
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    assert_eq!(recorded[0].connection, Some(1));
    assert_eq!(
        recorded[1].connection,
        Some(2),
        "the new token goes on a new connection"
    );
}

#[tokio::test(start_paused = true)]
async fn young_token_called_expired_is_kept_until_20_minutes() {
    let _hold = hold_clock();
    let harness = start(|config| config.max_provider_token_age = 10 * MINUTE).await;
    let mut config = harness.apns_config();
    config.keep_alive_interval_ms = 0;
    let client = harness.apns_client(&config);

    client.send(&alert(1)).await;
    tokio::time::advance(15 * MINUTE).await;
    let rejected = client.send(&alert(2)).await;

    let PushOutcome::Retryable { retry_after, .. } = rejected else {
        panic!("expected retryable, got {rejected:?}");
    };
    assert_eq!(retry_after, Some(5 * MINUTE), "never two tokens within 20 minutes");
}

#[tokio::test(start_paused = true)]
async fn restarted_client_reuses_the_token_of_its_interval() {
    let _hold = hold_clock();
    let harness = start(|_| {}).await;
    let mut config = harness.apns_config();
    config.keep_alive_interval_ms = 0;

    tokio::time::advance(5 * MINUTE).await;
    let first_process = harness.apns_client(&config);
    let before_restart = first_process.send(&alert(1)).await;
    drop(first_process);
    tokio::time::advance(10 * MINUTE).await;
    let restarted = harness.apns_client(&config);
    let after_restart = restarted.send(&alert(2)).await;
    let scaled_out = harness.apns_client(&config);
    let from_second_replica = scaled_out.send(&alert(3)).await;

    assert_eq!(before_restart.class(), "delivered");
    assert_eq!(
        after_restart.class(),
        "delivered",
        "a new signature within 20 minutes would be TooManyProviderTokenUpdates: {after_restart:?}"
    );
    assert_eq!(from_second_replica.class(), "delivered", "{from_second_replica:?}");
    let iats = issue_times(&harness);
    assert_eq!(iats.len(), 3);
    assert!(iats.iter().all(|iat| *iat == iats[0]), "{iats:?}");
    let recorded = harness.stand_ins.recorded(&RecordFilter::default());
    let connections: BTreeSet<_> = recorded.iter().map(|record| record.connection).collect();
    assert_eq!(connections.len(), 3, "each client opened its own connection");
}
