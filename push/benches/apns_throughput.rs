//! Pushes per second from one APNs client against the APNs stand-in with
//! 20 ms of injected latency, one stream at a time versus many concurrent
//! streams on one connection.
//!
//! Run: `cargo bench -p offload-push --bench apns_throughput`.
//!
//! Each row's limit is measured in the same run: the client against the
//! stand-in without latency (the CPU ceiling of client plus server on this
//! machine) and the latency bound, concurrency / 20 ms; the ratio compares
//! the measured rate with the lower of the two. Every run is bounded by a
//! push count and a 20-second deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use offload_push::apns::{Alert, ApnsClient, ApnsNotification};
use offload_push::config::{ApnsAuth, ApnsConfig};
use offload_standins::{Fault, StandIns, StandInsConfig};

const LATENCY: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(20);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let stand_ins = StandIns::start(StandInsConfig::new(dir.path())).await.unwrap();
    let client = Arc::new(client(&stand_ins));

    let ceiling = measure(&client, 100, 4000).await;
    println!("no latency, 100 streams: {ceiling:.0} pushes/s (CPU ceiling of client and stand-in)");

    stand_ins.apns_faults().set_global(Fault {
        latency_ms: LATENCY.as_millis() as u64,
        ..Fault::default()
    });
    println!(
        "{:>8} {:>8} {:>12} {:>12} {:>7}",
        "streams", "pushes", "pushes/s", "limit/s", "ratio"
    );
    for (streams, pushes) in [(1, 100), (10, 1000), (100, 4000), (500, 8000)] {
        let rate = measure(&client, streams, pushes).await;
        let latency_bound = streams as f64 / LATENCY.as_secs_f64();
        let limit = latency_bound.min(ceiling);
        println!(
            "{streams:>8} {pushes:>8} {rate:>12.0} {limit:>12.0} {:>7.2}",
            rate / limit
        );
    }
}

fn client(stand_ins: &StandIns) -> ApnsClient {
    let credentials = &stand_ins.credentials;
    let auth = ApnsAuth::Token {
        key_path: credentials.apns_key.clone(),
        key_id: credentials.apns_key_id.clone(),
        team_id: credentials.apns_team_id.clone(),
    };
    let mut config = ApnsConfig::new(stand_ins.apns_url(), auth);
    config.public_roots = false;
    config.extra_root_certificate_paths = vec![credentials.ca_certificate.clone()];
    config.max_concurrent_streams = 1000;
    ApnsClient::new(&config).unwrap()
}

/// Sends `pushes` notifications with at most `streams` in flight; returns pushes per second.
async fn measure(client: &Arc<ApnsClient>, streams: usize, pushes: usize) -> f64 {
    let started = Instant::now();
    let delivered = stream::iter(0..pushes)
        .take_while(|_| std::future::ready(started.elapsed() < DEADLINE))
        .map(|n| {
            let client = Arc::clone(client);
            async move { client.send(&notification(n)).await }
        })
        .buffer_unordered(streams)
        .filter(|outcome| std::future::ready(outcome.class() == "delivered"))
        .count()
        .await;
    delivered as f64 / started.elapsed().as_secs_f64()
}

fn notification(n: usize) -> ApnsNotification {
    ApnsNotification {
        device_token: format!("{n:064x}"),
        topic: "com.example.app".into(),
        alert: Some(Alert {
            body: Some(format!("benchmark push {n}")),
            ..Alert::default()
        }),
        ..ApnsNotification::default()
    }
}
