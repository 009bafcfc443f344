//! The worker binary as a child process, configured per test.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::stack::{cassandra_contact_point, kafka_bootstrap};

/// Builds the TOML configuration of a worker under test.
#[derive(Debug, Clone)]
pub struct WorkerConfigBuilder {
    topic: String,
    dead_letter_topic: String,
    push_feedback_topic: Option<String>,
    group: String,
    bootstrap_servers: String,
    contact_point: String,
    statements: Vec<(String, String, bool)>,
    request_timeout_secs: u64,
    /// librdkafka settings besides `bootstrap.servers` and `group.id`.
    kafka_settings: Vec<(String, String)>,
    /// Keys of the `[worker]` table, as TOML values.
    run_settings: Vec<(String, String)>,
    /// Keys of the `[cassandra]` table besides the contact point and timeouts, as TOML values.
    cassandra_settings: Vec<(String, String)>,
    extra: String,
}

impl WorkerConfigBuilder {
    /// Starts a configuration for the stack under test.
    pub fn new(topic: &str, dead_letter_topic: &str, group: &str) -> WorkerConfigBuilder {
        WorkerConfigBuilder {
            topic: topic.into(),
            dead_letter_topic: dead_letter_topic.into(),
            push_feedback_topic: None,
            group: group.into(),
            bootstrap_servers: kafka_bootstrap(),
            contact_point: cassandra_contact_point(),
            statements: Vec::new(),
            request_timeout_secs: 12,
            kafka_settings: vec![
                ("session.timeout.ms".into(), "10000".into()),
                ("heartbeat.interval.ms".into(), "1000".into()),
            ],
            run_settings: vec![
                ("commit_interval_ms".into(), "200".into()),
                ("kafka_connect_timeout_secs".into(), "5".into()),
            ],
            cassandra_settings: Vec::new(),
            extra: String::new(),
        }
    }

    /// Points the worker at other Kafka bootstrap servers.
    pub fn bootstrap_servers(mut self, servers: &str) -> Self {
        self.bootstrap_servers = servers.into();
        self
    }

    /// Points the worker at another Cassandra contact point.
    pub fn contact_point(mut self, contact_point: &str) -> Self {
        self.contact_point = contact_point.into();
        self
    }

    /// Adds a catalog statement.
    pub fn statement(mut self, name: &str, cql: &str, idempotent: bool) -> Self {
        self.statements.push((name.into(), cql.into(), idempotent));
        self
    }

    /// Sets a key of the `[worker]` table, for example `max_attempts`, to a
    /// TOML value, replacing the builder's default for that key.
    pub fn run_setting(mut self, key: &str, toml_value: &str) -> Self {
        set_or_replace(&mut self.run_settings, key, toml_value);
        self
    }

    /// Sets a key of the `[cassandra]` table, for example `allow_raw_dml`,
    /// to a TOML value.
    pub fn cassandra_setting(mut self, key: &str, toml_value: &str) -> Self {
        set_or_replace(&mut self.cassandra_settings, key, toml_value);
        self
    }

    /// Sets a librdkafka consumer setting, replacing the builder's default for that key.
    pub fn kafka_setting(mut self, key: &str, value: &str) -> Self {
        set_or_replace(&mut self.kafka_settings, key, value);
        self
    }

    /// Returns the librdkafka settings of the `[kafka]` table, including
    /// `bootstrap.servers` and `group.id`, as the worker receives them.
    pub fn kafka_settings(&self) -> Vec<(String, String)> {
        let mut settings = vec![
            ("bootstrap.servers".to_string(), self.bootstrap_servers.clone()),
            ("group.id".to_string(), self.group.clone()),
        ];
        settings.extend(self.kafka_settings.iter().cloned());
        settings
    }

    /// Sets `cassandra.request_timeout_secs`.
    pub fn cassandra_request_timeout_secs(mut self, seconds: u64) -> Self {
        self.request_timeout_secs = seconds;
        self
    }

    /// Sets `topics.push_feedback`.
    pub fn push_feedback_topic(mut self, topic: &str) -> Self {
        self.push_feedback_topic = Some(topic.into());
        self
    }

    /// Appends raw TOML text after every table, for example `[apns]` and
    /// `[fcm]` tables or bad keys to test how they are reported.
    pub fn extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self
    }

    /// Renders the TOML text, with the metrics endpoint on 127.0.0.1:`metrics_port`.
    pub fn render(&self, metrics_port: u16) -> String {
        let mut text = format!(
            r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"group.id" = "{group}"
{kafka_settings}
[topics]
dispatch = "{topic}"
dead_letter = "{dead_letter}"
{push_feedback}

[cassandra]
contact_points = ["{contact_point}"]
connect_timeout_secs = 5
request_timeout_secs = {request_timeout_secs}
{cassandra_settings}
[http]
listen_address = "127.0.0.1:{metrics_port}"

[worker]
"#,
            bootstrap = self.bootstrap_servers,
            group = self.group,
            topic = self.topic,
            dead_letter = self.dead_letter_topic,
            push_feedback = self
                .push_feedback_topic
                .as_ref()
                .map(|topic| format!("push_feedback = \"{topic}\""))
                .unwrap_or_default(),
            contact_point = self.contact_point,
            metrics_port = metrics_port,
            request_timeout_secs = self.request_timeout_secs,
            cassandra_settings = self
                .cassandra_settings
                .iter()
                .map(|(key, value)| format!("{key} = {value}\n"))
                .collect::<String>(),
            kafka_settings = self
                .kafka_settings
                .iter()
                .map(|(key, value)| format!("\"{key}\" = \"{value}\"\n"))
                .collect::<String>(),
        );
        for (key, value) in &self.run_settings {
            let _ = writeln!(text, "{key} = {value}");
        }
        for (name, cql, idempotent) in &self.statements {
            let _ = write!(
                text,
                "\n[statements.{name}]\ncql = \"{cql}\"\nconsistency = \"ONE\"\nidempotent = {idempotent}\n"
            );
        }
        text.push_str(&self.extra);
        text
    }
}

/// A running `offload-worker` process; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    metrics_port: u16,
    log: PathBuf,
    _folder: TempDir,
}

impl WorkerProcess {
    /// Writes `config` to a temporary file and starts the worker with it.
    pub fn spawn(config: &WorkerConfigBuilder) -> anyhow::Result<WorkerProcess> {
        let folder = tempfile::tempdir()?;
        let config_path = folder.path().join("worker.toml");
        let metrics_port = free_port();
        std::fs::write(&config_path, config.render(metrics_port))?;
        let log = folder.path().join("worker.log");
        let log_file = std::fs::File::create(&log)?;

        let child = Command::new(worker_binary()?)
            .arg("--config")
            .arg(&config_path)
            .env("OFFLOAD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting offload-worker failed")?;

        Ok(WorkerProcess {
            child,
            metrics_port,
            log,
            _folder: folder,
        })
    }

    /// Port of this worker's /metrics endpoint on 127.0.0.1.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// Kills the worker with SIGKILL, as a crash would.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        kill(self.pid(), Signal::SIGKILL)?;
        Ok(self.child.wait()?)
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        kill(self.pid(), Signal::SIGTERM)?;
        self.wait(timeout)
    }

    /// Waits up to `timeout` for the worker to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "offload-worker did not exit within {timeout:?}; its log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the exit status if the worker has exited, without waiting.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Returns the operating-system process id of the worker.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything the worker printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sets `key` to `value` in `settings`, in place when the key is already there.
fn set_or_replace(settings: &mut Vec<(String, String)>, key: &str, value: &str) {
    match settings.iter_mut().find(|(existing, _)| existing == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => settings.push((key.to_string(), value.to_string())),
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("binding 127.0.0.1:0 works")
}

/// Finds the worker binary: `OFFLOAD_WORKER_BIN`, or `offload-worker` in the
/// Cargo target folder the running binary belongs to. Binaries live in
/// `target/<profile>/` and test binaries in `target/<profile>/deps/`.
pub fn worker_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("OFFLOAD_WORKER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let running = std::env::current_exe()?;
    let own_folder = running.parent().context("the running binary has no parent folder")?;
    let profile_dir = if own_folder.ends_with("deps") {
        own_folder.parent().unwrap_or(own_folder)
    } else {
        own_folder
    };
    let worker = profile_dir.join("offload-worker");
    if !worker.exists() {
        bail!(
            "{} does not exist; build it with `cargo build -p offload-consumer` (add `--release` for benchmarks) or set OFFLOAD_WORKER_BIN",
            worker.display()
        );
    }
    Ok(worker)
}
