//! Replays the requests through the producer library at a target rate,
//! with a progress bar, the `--chaos` kills, and the wait until the
//! worker's consumer group has no lag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use offload_consumer::lag::group_lag;
use offload_producer::{Delivery, Dispatcher, Publisher};
use tokio_util::sync::CancellationToken;

use crate::events::{kind, EventBuilder};
use crate::metrics::WorkerMetrics;
use crate::worker::Worker;
use crate::workload::Request;

/// Counts and deliveries of a replay.
#[derive(Debug, Default)]
pub struct Published {
    /// Requests by controller.
    pub requests: BTreeMap<&'static str, usize>,
    /// Actions by kind (`counter`, `insert`, `apns`, `fcm`).
    pub actions: BTreeMap<&'static str, usize>,
    /// Deliveries of the published events.
    pub deliveries: Vec<Delivery>,
    /// Time from the first request to the last one enqueued.
    pub elapsed: Duration,
}

/// The consumer group and topic whose lag the progress bar shows.
#[derive(Debug, Clone)]
pub struct LagSource {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// The worker's group.
    pub group: String,
    /// The dispatch topic.
    pub topic: String,
}

/// The progress bar and the lag it shows, read once a second in the background.
pub struct Progress {
    bar: ProgressBar,
    /// The last lag reading and when it started.
    lag: Arc<Mutex<Option<(Instant, i64)>>>,
    stop: CancellationToken,
    last_sample: Instant,
}

impl Progress {
    /// Starts the lag readings; `visible` false hides the bar (tests).
    pub fn start(requests: usize, source: LagSource, visible: bool) -> Progress {
        let bar = if visible {
            ProgressBar::new(requests as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} requests  {msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        let lag = Arc::new(Mutex::new(None));
        let stop = CancellationToken::new();
        tokio::spawn(read_lag(source, Arc::clone(&lag), stop.clone()));
        Progress {
            bar,
            lag,
            stop,
            last_sample: Instant::now(),
        }
    }

    /// Returns the last lag reading, `None` before the first one.
    pub fn lag(&self) -> Option<i64> {
        self.lag_since(None)
    }

    /// Returns the last lag reading if it started after `since`.
    fn lag_since(&self, since: Option<Instant>) -> Option<i64> {
        let reading = *self.lag.lock().expect("lag lock is never poisoned");
        reading
            .filter(|(started, _)| since.is_none_or(|since| *started >= since))
            .map(|(_, lag)| lag)
    }

    fn show(&self, events: usize, started: Instant) {
        let rate = events as f64 / started.elapsed().as_secs_f64().max(0.001);
        let lag = self.lag().map_or("?".to_string(), |lag| lag.to_string());
        self.bar
            .set_message(format!("{events} events, {rate:.0} events/s, lag {lag}"));
    }

    /// Samples the worker's metrics about once a second.
    async fn sample(&mut self, worker: &mut Worker) {
        if self.last_sample.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_sample = Instant::now();
        if let Ok(sample) = WorkerMetrics::scrape(worker.metrics_port()).await {
            worker.record_sample(sample);
        }
    }

    /// Stops the lag readings and clears the bar.
    pub fn finish(self) {
        self.stop.cancel();
        self.bar.finish_and_clear();
    }
}

async fn read_lag(source: LagSource, lag: Arc<Mutex<Option<(Instant, i64)>>>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let source = source.clone();
        let started = Instant::now();
        let reading = tokio::task::spawn_blocking(move || {
            group_lag(
                &source.bootstrap_servers,
                &source.group,
                &source.topic,
                Duration::from_secs(5),
            )
        })
        .await;
        // The coordinator may return NOT_COORDINATOR for a moment after a
        // broker start or a group change, so a failed reading keeps the last value.
        if let Ok(Ok(partitions)) = reading {
            let total = partitions.iter().map(|partition| partition.lag()).sum();
            *lag.lock().expect("lag lock is never poisoned") = Some((started, total));
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Publishes `requests`, spreading each log's time span over
/// `requests / rate` seconds, and kills the worker `chaos` times.
pub async fn publish(
    requests: &[Request],
    rate: f64,
    chaos: u32,
    builder: &EventBuilder,
    publisher: &Publisher,
    worker: &mut Worker,
    progress: &mut Progress,
) -> anyhow::Result<Published> {
    let mut published = Published::default();
    let duration = requests.len() as f64 / rate;
    // Kills fall at evenly spaced times of the replay, not request counts,
    // because both logs are busiest near their start.
    let mut kill_times: Vec<f64> = (1..=chaos).map(|kill| f64::from(kill) / f64::from(chaos + 1)).collect();
    kill_times.reverse();
    let started = Instant::now();
    let start = tokio::time::Instant::now();
    for (index, request) in requests.iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(request.position * duration)).await;
        if kill_times.last().is_some_and(|time| request.position >= *time) {
            kill_times.pop();
            worker.kill_and_restart().await?;
        }
        *published.requests.entry(request.interaction.controller()).or_default() += 1;
        let mut dispatcher = Dispatcher::new(publisher);
        for (entity, action) in builder.actions(request) {
            *published.actions.entry(kind(&action)).or_default() += 1;
            dispatcher.add(entity, action);
        }
        published.deliveries.extend(dispatcher.dispatch().await?);
        progress.bar.inc(1);
        if index.is_multiple_of(64) {
            worker.check_running()?;
            progress.show(published.deliveries.len(), started);
            progress.sample(worker).await;
        }
    }
    published.elapsed = started.elapsed();
    Ok(published)
}

/// Waits until the group's lag is zero, or fails after `timeout`.
pub async fn wait_for_drain(
    worker: &mut Worker,
    progress: &mut Progress,
    events: usize,
    started: Instant,
    timeout: Duration,
) -> anyhow::Result<()> {
    let since = Instant::now();
    let deadline = since + timeout;
    loop {
        worker.check_running()?;
        progress.show(events, started);
        progress.sample(worker).await;
        // Only a reading that started after every record was acknowledged counts.
        if progress.lag_since(Some(since)) == Some(0) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let lag = progress
                .lag()
                .map_or_else(|| "not read yet".to_string(), |lag| format!("{lag} records"));
            anyhow::bail!(
                "the worker did not drain the topic within {} s (lag: {lag}); raise --drain-timeout-secs or see its log {}",
                timeout.as_secs(),
                worker.log_path().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
