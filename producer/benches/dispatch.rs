//! Enqueue latency of `Dispatcher::dispatch()` for a typical request: three
//! actions for two entities (a comment insert and a counter update for the
//! post, a push for its owner).
//!
//! Two measurements:
//! - criterion's `dispatch/typical_request`: mean time of one dispatch;
//! - a latency run of 100,000 dispatches that prints p50, p99 and p99.9
//!   and their ratio to the 5 µs target, because criterion reports no
//!   percentiles.
//!
//! librdkafka gets a bootstrap address that refuses connections and its
//! queue is purged between bursts, so the run covers `dispatch()` and the
//! publisher's own work (encoding, handing records to librdkafka) without
//! sending load to a shared broker. Between bursts of 1,000 dispatches the
//! run waits, untimed, until the publisher's queue is empty, so that every
//! timed dispatch finds room: this measures enqueueing, not back-pressure.
//!
//! Run: `cargo bench -p offload-producer --bench dispatch`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use offload_producer::{Dispatcher, FullQueuePolicy, Publisher, PublisherConfig, QueueConfig};
use offload_schemas::samples::typical_actions;
use offload_schemas::Action;
use rdkafka::producer::{Producer, PurgeConfig};
use tokio::runtime::Runtime;

/// Dispatches between two untimed drains of the queue.
const BURST: usize = 1_000;

/// Dispatches timed individually by the latency run.
const LATENCY_SAMPLES: usize = 100_000;

/// The enqueue target on this machine, in microseconds.
const TARGET_P99_US: f64 = 5.0;

fn publisher(runtime: &Runtime) -> Publisher {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port();
    let mut config = PublisherConfig::new(format!("127.0.0.1:{closed_port}"), "bench", "bench");
    config.queue = QueueConfig {
        capacity: 10_000,
        when_full: FullQueuePolicy::Fail,
    };
    config
        .kafka
        .insert("queue.buffering.max.messages".into(), "1000000".into());
    config.kafka.insert("message.timeout.ms".into(), "600000".into());
    let _guard = runtime.enter();
    Publisher::new(config).expect("valid producer settings")
}

/// Builds the typical request: two writes for the post, a push for its owner.
fn typical_request(publisher: &Publisher, actions: &[Action]) -> Dispatcher {
    let mut dispatcher = Dispatcher::new(publisher);
    dispatcher
        .add("post-42", actions[0].clone())
        .add("post-42", actions[1].clone())
        .add("user-7", actions[2].clone());
    dispatcher
}

/// Waits, untimed, until the background task took every event, then purges
/// librdkafka's queue so that memory stays flat.
async fn drain(publisher: &Publisher) {
    while publisher.queued() > 0 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    publisher.producer().purge(PurgeConfig::default().queue());
}

/// Dispatches `count` typical requests inside one task, as a request
/// handler would, and returns the time of each dispatch.
async fn timed_dispatches(publisher: &Publisher, actions: &[Action], count: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(count);
    for done in 0..count {
        let dispatcher = typical_request(publisher, actions);
        let started = Instant::now();
        let deliveries = dispatcher.dispatch().await.expect("the queue has room");
        samples.push(started.elapsed());
        drop(deliveries);
        if done % BURST == BURST - 1 {
            drain(publisher).await;
        }
    }
    drain(publisher).await;
    samples
}

fn dispatch_benchmark(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a tokio runtime");
    let publisher = publisher(&runtime);
    let actions = typical_actions();

    c.bench_function("dispatch/typical_request", |b| {
        b.iter_custom(|iterations| {
            let samples = runtime.block_on(timed_dispatches(&publisher, &actions, iterations as usize));
            samples.iter().sum()
        })
    });
}

/// Times `LATENCY_SAMPLES` dispatches one by one and prints percentiles.
fn latency_run() {
    let runtime = Runtime::new().expect("a tokio runtime");
    let publisher = publisher(&runtime);
    let actions = typical_actions();

    let mut samples = runtime.block_on(timed_dispatches(&publisher, &actions, LATENCY_SAMPLES));

    samples.sort();
    let percentile = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let p99 = percentile(0.99);
    println!(
        "dispatch/typical_request latency over {LATENCY_SAMPLES} dispatches: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}; p99 / {TARGET_P99_US} µs target = {:.2}",
        percentile(0.50),
        p99,
        percentile(0.999),
        samples[samples.len() - 1],
        p99.as_secs_f64() * 1e6 / TARGET_P99_US
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = dispatch_benchmark
}

fn main() {
    benches();
    latency_run();
    Criterion::default().configure_from_args().final_summary();
}
