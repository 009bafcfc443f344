//! The `offload-worker` process of the demo: its configuration, start,
//! SIGKILL and restart (`--chaos`), SIGTERM, and samples of its metrics.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::metrics::WorkerMetrics;
use offload_consumer::lag::{group_lag, PartitionLag};

/// Addresses of the stand-in push servers and the credentials they generated.
#[derive(Debug, Clone)]
pub struct PushTargets {
    /// APNs base URL, `https://127.0.0.1:port`.
    pub apns_url: String,
    /// FCM base URL.
    pub fcm_url: String,
    /// Control API base URL, `http://127.0.0.1:port`.
    pub control_url: String,
    /// The stand-ins' CA certificate (PEM).
    pub ca_certificate: PathBuf,
    /// The APNs `.p8` signing key.
    pub apns_key: PathBuf,
    /// Its 10-character key id.
    pub apns_key_id: String,
    /// Its 10-character team id.
    pub apns_team_id: String,
    /// The FCM service account JSON file.
    pub fcm_service_account: PathBuf,
}

/// Settings of the worker's configuration file.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The `offload-worker` binary.
    pub binary: PathBuf,
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// Cassandra contact point.
    pub contact_point: String,
    /// Consumer group.
    pub group: String,
    /// Dispatch topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dead_letter_topic: String,
    /// Push-feedback topic.
    pub feedback_topic: String,
    /// `[statements.*]` tables.
    pub statement_catalog: String,
    /// The stand-ins.
    pub push: PushTargets,
}

/// Progress of a worker process at the moment it was killed.
#[derive(Debug, Clone, Default)]
pub struct KillRecord {
    /// Events the killed process executed.
    pub executed: u64,
    /// How far the group's committed offsets advanced during the process's
    /// life, summed over partitions.
    pub committed_advance: i64,
    /// Records received and not finished at the kill.
    pub in_flight: u64,
    /// Per partition, records between the committed offset and the log end at the kill.
    pub uncommitted: Vec<(i32, i64)>,
    /// Per partition with records behind the log end, the entity key of the
    /// record at the committed offset: the oldest unfinished one.
    pub pinned_by: Vec<(i32, String)>,
}

impl KillRecord {
    /// Events executed but not covered by a commit: the new process runs them again.
    pub fn replayed(&self) -> i64 {
        self.executed as i64 - self.committed_advance
    }
}

/// A running worker, restarted in place after a kill.
pub struct Worker {
    settings: WorkerSettings,
    config_path: PathBuf,
    log_path: PathBuf,
    metrics_port: u16,
    child: Child,
    /// Metrics of earlier, killed or stopped processes.
    finished: WorkerMetrics,
    /// The last sample of the running process.
    last_sample: WorkerMetrics,
    /// Counts to leave out: work done before the replay started.
    baseline: WorkerMetrics,
    /// SIGKILLs sent.
    pub kills: u32,
    /// One record per kill.
    pub kill_records: Vec<KillRecord>,
    /// Sum of the group's committed offsets when the running process started
    /// (for the first one: at the baseline).
    committed_at_start: i64,
}

impl Worker {
    /// Writes the configuration into `folder` and starts the worker.
    pub fn start(settings: WorkerSettings, folder: &Path) -> anyhow::Result<Worker> {
        let metrics_port = free_port()?;
        let config_path = folder.join("worker.toml");
        std::fs::write(&config_path, render(&settings, metrics_port))?;
        let log_path = folder.join("worker.log");
        // Each run starts a new log; restarts within the run append to it.
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let child = spawn(&settings.binary, &config_path, &log_path)?;
        Ok(Worker {
            settings,
            config_path,
            log_path,
            metrics_port,
            child,
            finished: WorkerMetrics::default(),
            last_sample: WorkerMetrics::default(),
            baseline: WorkerMetrics::default(),
            kills: 0,
            kill_records: Vec::new(),
            committed_at_start: 0,
        })
    }

    /// Returns the worker's log file (its standard error).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Port of the worker's `/metrics`.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// Fails when the worker exited on its own.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "the worker exited with {status}{}; its log is {}",
                last_error_line(&self.log_path)
                    .map(|line| format!(": {line}"))
                    .unwrap_or_default(),
                self.log_path.display()
            );
        }
        Ok(())
    }

    /// Keeps a sample of the running worker's metrics.
    pub fn record_sample(&mut self, sample: WorkerMetrics) {
        self.last_sample = sample;
    }

    /// Takes the current counts as the baseline that [`Worker::metrics`] leaves out.
    pub async fn set_baseline(&mut self) -> anyhow::Result<()> {
        self.baseline = WorkerMetrics::scrape(self.metrics_port).await?;
        self.committed_at_start = committed_sum(&self.read_lags().await?);
        Ok(())
    }

    /// Metrics over every process since the baseline: finished ones plus
    /// the last sample.
    pub fn metrics(&self) -> WorkerMetrics {
        let mut total = self.finished.clone();
        total.add(&self.last_sample);
        total.subtract(&self.baseline);
        total
    }

    /// Samples the metrics and the group's offsets, kills the worker with
    /// SIGKILL and starts a new one.
    pub async fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        let lags = self.read_lags().await?;
        if let Ok(sample) = WorkerMetrics::scrape(self.metrics_port).await {
            self.last_sample = sample;
        }
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL)?;
        self.child.wait()?;
        // The process could commit between the reading and the kill; read again.
        let lags = self.read_lags().await.unwrap_or(lags);
        let baseline = if self.kills == 0 { self.baseline.events } else { 0 };
        let committed = committed_sum(&lags);
        let pinned_by = self.read_pinning_keys(&lags).await;
        self.kill_records.push(KillRecord {
            executed: self.last_sample.events.saturating_sub(baseline),
            committed_advance: committed - self.committed_at_start,
            in_flight: self.last_sample.in_flight,
            uncommitted: lags.iter().map(|lag| (lag.partition, lag.lag())).collect(),
            pinned_by,
        });
        self.committed_at_start = committed;
        self.kills += 1;
        self.finished.add(&std::mem::take(&mut self.last_sample));
        self.child = spawn(&self.settings.binary, &self.config_path, &self.log_path)?;
        Ok(())
    }

    /// Samples the metrics a last time and stops the worker with SIGTERM.
    pub async fn stop(mut self) -> anyhow::Result<WorkerMetrics> {
        if let Ok(sample) = WorkerMetrics::scrape(self.metrics_port).await {
            self.last_sample = sample;
        }
        if self.child.try_wait()?.is_none() {
            kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.child.try_wait()?.is_none() {
                if Instant::now() >= deadline {
                    self.child.kill()?;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(self.metrics())
    }
}

impl Worker {
    async fn read_pinning_keys(&self, lags: &[PartitionLag]) -> Vec<(i32, String)> {
        let (servers, topic) = (self.settings.bootstrap_servers.clone(), self.settings.topic.clone());
        let lags = lags.to_vec();
        let read = move || {
            lags.iter()
                .filter(|lag| lag.lag() > 0)
                .filter_map(|lag| {
                    let offset = lag.committed?;
                    let key = crate::pinned::key_at(&servers, &topic, lag.partition, offset, Duration::from_secs(3))?;
                    Some((lag.partition, key))
                })
                .collect()
        };
        tokio::task::spawn_blocking(read).await.unwrap_or_default()
    }

    async fn read_lags(&self) -> anyhow::Result<Vec<PartitionLag>> {
        let (servers, group, topic) = (
            self.settings.bootstrap_servers.clone(),
            self.settings.group.clone(),
            self.settings.topic.clone(),
        );
        let lags = tokio::task::spawn_blocking(move || group_lag(&servers, &group, &topic, Duration::from_secs(10)))
            .await?
            .context("reading the worker group's committed offsets failed")?;
        Ok(lags)
    }
}

fn committed_sum(lags: &[PartitionLag]) -> i64 {
    lags.iter()
        .map(|lag| lag.committed.unwrap_or(lag.log_start).max(lag.log_start))
        .sum()
}

fn spawn(binary: &Path, config_path: &Path, log_path: &Path) -> anyhow::Result<Child> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    // The log goes to a file, so lifecycle lines (info) cost nothing on the terminal.
    let filter = std::env::var("OFFLOAD_LOG").unwrap_or_else(|_| "info".into());
    Command::new(binary)
        .arg("--config")
        .arg(config_path)
        .env("OFFLOAD_LOG", filter)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} failed; build it with `cargo build -p offload-consumer`",
                binary.display()
            )
        })
}

/// Returns the last line of a log that reports an error, so a failure
/// message can name its cause without sending the reader to the file.
pub fn last_error_line(log_path: &Path) -> Option<String> {
    let log = std::fs::read_to_string(log_path).ok()?;
    log.lines()
        .rev()
        .find(|line| line.contains("error") || line.contains("ERROR"))
        .map(|line| line.trim().to_string())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Returns a path as a TOML literal string.
fn toml_path(path: &Path) -> anyhow::Result<String> {
    let text = path.display().to_string();
    anyhow::ensure!(
        !text.contains('\''),
        "path {text} cannot be a TOML literal string; move it"
    );
    Ok(format!("'{text}'"))
}

fn render(settings: &WorkerSettings, metrics_port: u16) -> String {
    let push = &settings.push;
    let path = |path: &Path| toml_path(path).unwrap_or_else(|_| format!("{:?}", path.display().to_string()));
    format!(
        r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"group.id" = "{group}"
# Static membership: a restarted worker takes its partitions back at once
# instead of waiting for the killed one's session to time out.
"group.instance.id" = "{group}-worker-1"
"session.timeout.ms" = 10000

[worker]
# Below session.timeout.ms, so a stopping worker commits before it is dropped.
shutdown_timeout_ms = 8000
revoke_timeout_ms = 8000

[topics]
dispatch = "{topic}"
dead_letter = "{dead_letter}"
push_feedback = "{feedback}"

[cassandra]
contact_points = ["{contact_point}"]

[http]
listen_address = "127.0.0.1:{metrics_port}"

[apns]
endpoint = "{apns_url}"
public_roots = false
extra_root_certificate_paths = [{ca}]
auth = {{ method = "token", key_path = {key}, key_id = "{key_id}", team_id = "{team_id}" }}

[fcm]
service_account_key_path = {service_account}
base_url = "{fcm_url}"
public_roots = false
extra_root_certificate_paths = [{ca}]

{catalog}"#,
        bootstrap = settings.bootstrap_servers,
        group = settings.group,
        topic = settings.topic,
        dead_letter = settings.dead_letter_topic,
        feedback = settings.feedback_topic,
        contact_point = settings.contact_point,
        apns_url = push.apns_url,
        ca = path(&push.ca_certificate),
        key = path(&push.apns_key),
        key_id = push.apns_key_id,
        team_id = push.apns_team_id,
        service_account = path(&push.fcm_service_account),
        fcm_url = push.fcm_url,
        catalog = settings.statement_catalog,
    )
}
