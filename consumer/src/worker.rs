//! The run loop: serve the consumer's events, read each partition's records
//! from its own queue while its in-flight window has room, hand them to the
//! scheduler, run each one in its own task, and commit finished offsets.
//!
//! The loop keeps polling Kafka while records execute, wait or retry, so a
//! slow action never makes the worker exceed `max.poll.interval.ms`.

use std::sync::Arc;
use std::time::Duration;

use offload_schemas::{Codec, RegistryError, SchemaRegistry};
use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{SchemasConfig, WorkerConfig};
use crate::dead_letter::DeadLetterProducer;
use crate::executor::cassandra::StartError as CassandraStartError;
use crate::executor::{CassandraExecutor, Executor, PushExecutors, PushStartError};
use crate::http::Health;
use crate::kafka::{self, KafkaStartError, Shared, WorkerConsumer};
use crate::process::{Outcome, Processor};
use crate::scheduler::{Accepted, Job};
use crate::telemetry::Telemetry;

/// Maximum time between two polls of the consumer. Each loop turn polls, so
/// full partitions and idle topics still count as polling for
/// `max.poll.interval.ms`.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Empty polls of the consumer queue per loop turn. rdkafka's `poll` returns
/// nothing both for an empty queue and after serving an event (a rebalance,
/// statistics), so one empty poll does not mean the queue is empty.
const EMPTY_EVENT_POLLS: usize = 4;

/// Errors that stop the worker before it consumes anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Cassandra is unreachable or a catalog statement is invalid.
    #[error(transparent)]
    Cassandra(#[from] CassandraStartError),
    /// Kafka is unreachable, the topic is missing or a setting is invalid.
    #[error(transparent)]
    Kafka(#[from] KafkaStartError),
    /// A push client or the feedback producer cannot be built.
    #[error(transparent)]
    Push(#[from] PushStartError),
    /// The dead-letter producer could not be created.
    #[error("invalid settings for the dead-letter producer")]
    DeadLetter(#[source] rdkafka::error::KafkaError),
    /// A configured writer schema file could not be read or parsed.
    #[error("writer schema file {path} is invalid; fix it or remove it from schemas.writer_schema_files")]
    WriterSchema {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The schema registry client cannot be built from the `[schemas]` settings.
    #[error("invalid schema registry settings; check schemas.registry_url and the registry credentials")]
    Registry(#[source] RegistryError),
    /// Subscribing to the dispatch topic failed.
    #[error("subscribing to topic `{topic}` failed")]
    Subscribe {
        /// The dispatch topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
}

/// A started worker: connected to Cassandra and Kafka, ready to run.
pub struct Worker {
    consumer: Arc<WorkerConsumer>,
    /// The interval commit waiting for Kafka's result, if any.
    commit_task: Option<tokio::task::JoinHandle<()>>,
    runner: Runner,
    config: WorkerConfig,
    health: Arc<Health>,
}

/// Starts record tasks and their successors; cloned into every task.
#[derive(Clone)]
struct Runner {
    shared: Arc<Shared>,
    processor: Arc<Processor>,
    tasks: TaskTracker,
}

impl Worker {
    /// Builds the push clients, connects to Cassandra, prepares the
    /// statement catalog, creates the consumer and subscribes to the
    /// dispatch topic.
    pub async fn start(
        config: &WorkerConfig,
        telemetry: Telemetry,
        health: Arc<Health>,
        shutdown: CancellationToken,
    ) -> Result<Worker, StartError> {
        let push = PushExecutors::start(config, &telemetry)?;
        let cassandra = CassandraExecutor::connect(&config.cassandra, &config.statements).await?;

        let run = &config.worker;
        let shared = Arc::new(Shared::new(run.key_parallelism, run.max_in_flight_per_partition));
        let consumer = kafka::create_consumer(config, Arc::clone(&shared), telemetry.clone())?;
        let group = config
            .kafka
            .get("group.id")
            .map(ToString::to_string)
            .unwrap_or_default();
        let dead_letters = DeadLetterProducer::new(&config.kafka, &config.topics.dead_letter, &group)
            .map_err(StartError::DeadLetter)?;

        consumer
            .subscribe(&[config.topics.dispatch.as_str()])
            .map_err(|source| StartError::Subscribe {
                topic: config.topics.dispatch.clone(),
                source,
            })?;
        info!(topic = %config.topics.dispatch, group = %group, key_parallelism = run.key_parallelism, "worker started");

        let processor = Processor {
            executor: Executor::new(cassandra, push),
            dead_letters,
            codec: codec(&config.schemas)?,
            registry: schema_registry(&config.schemas)?,
            run: run.clone(),
            telemetry,
            shutdown,
            concurrency: Semaphore::new(run.max_concurrent_events),
        };
        let runner = Runner {
            shared,
            processor: Arc::new(processor),
            tasks: TaskTracker::new(),
        };
        health.set_ready(true);
        Ok(Worker {
            consumer,
            commit_task: None,
            runner,
            config: config.clone(),
            health,
        })
    }

    /// Consumes until the shutdown token is cancelled, then lets running
    /// records finish (up to `worker.shutdown_timeout_ms`), commits and
    /// leaves the group.
    pub async fn run(mut self) {
        let shutdown = self.runner.processor.shutdown.clone();
        let mut commit_timer = tokio::time::interval(self.config.worker.commit_interval());
        commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll_timer = tokio::time::interval(POLL_INTERVAL);

        loop {
            self.serve_events();
            self.read_partitions();
            self.commit_if_requested();
            self.report_flow();
            self.health.turned();

            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = commit_timer.tick() => self.commit(),
                _ = commit_ended(&mut self.commit_task) => self.commit_task = None,
                _ = self.runner.shared.wake.notified() => {}
                _ = poll_timer.tick() => {}
            }
        }

        self.stop().await;
    }

    /// Serves the consumer queue: rebalances (whose callbacks open and close
    /// partition queues), errors, statistics, and records of a partition
    /// whose queue could not be split.
    fn serve_events(&self) {
        let mut empty_polls = 0;
        while empty_polls < EMPTY_EVENT_POLLS {
            match self.consumer.poll(Duration::ZERO) {
                Some(Ok(message)) => {
                    self.accept(message.detach());
                }
                Some(Err(error)) => warn!(%error, "receiving from Kafka failed; retrying"),
                None => empty_polls += 1,
            }
        }
    }

    /// Reads every partition whose window has room until its queue is empty
    /// or the window is full.
    fn read_partitions(&self) {
        let queues = self.runner.shared.queues.lock();
        for (partition, queue) in queues.iter() {
            if !self.runner.shared.lock().is_readable(partition) {
                continue;
            }
            while let Some(received) = queue.poll(Duration::ZERO) {
                match received {
                    Ok(message) => {
                        if self.accept(message.detach()) {
                            debug!(topic = %partition.0, partition = partition.1, "partition full: its in-flight window is reached");
                            break;
                        }
                    }
                    Err(error) => warn!(%error, partition = partition.1, "receiving from Kafka failed; retrying"),
                }
            }
        }
    }

    /// Hands a record to the scheduler and starts it if nothing of its key
    /// runs. Returns whether its partition's window is now full.
    fn accept(&self, message: OwnedMessage) -> bool {
        let partition = (message.topic().to_string(), message.partition());
        let offset = message.offset();
        let key = message.key().unwrap_or_default().to_vec();

        let (accepted, full) = {
            let mut scheduler = self.runner.shared.lock();
            let accepted = scheduler.accept(&partition, offset, &key, message);
            (accepted, scheduler.mark_if_full(&partition))
        };
        match accepted {
            Accepted::Start(job) => self.runner.spawn(job),
            Accepted::Queued => {}
            Accepted::NotOwned => {
                warn!(topic = %partition.0, partition = partition.1, offset, "dropped a record of a partition this worker no longer owns")
            }
        }
        full
    }

    /// Starts the commit a partition requested because half its window is
    /// finished but unconfirmed. While a commit runs the request waits: the
    /// loop wakes when that commit ends, which keeps one commit in flight.
    fn commit_if_requested(&mut self) {
        if self.commit_running() {
            return;
        }
        if self.runner.shared.lock().take_commit_request() {
            self.commit();
        }
    }

    fn commit_running(&self) -> bool {
        self.commit_task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Starts committing the finished offsets on a blocking thread, unless
    /// the previous commit is still waiting for Kafka's result.
    fn commit(&mut self) {
        if self.commit_running() {
            return;
        }
        let consumer = Arc::clone(&self.consumer);
        let shared = Arc::clone(&self.runner.shared);
        let telemetry = self.runner.processor.telemetry.clone();
        self.commit_task = Some(tokio::task::spawn_blocking(move || {
            kafka::commit_due(consumer.as_ref(), &shared, &telemetry)
        }));
    }

    fn report_flow(&self) {
        let (in_flight, full) = {
            let scheduler = self.runner.shared.lock();
            (scheduler.in_flight(), scheduler.full())
        };
        self.runner.processor.telemetry.flow(in_flight, full);
    }

    async fn stop(mut self) {
        info!("stopping: finishing the records already received, then committing");
        self.health.set_ready(false);
        // The loop no longer reads records, but the received ones keep
        // starting behind their keys until the deadline. Leaving them queued
        // would hold each partition's commit below records that finished,
        // and a restart would run those again (counter updates included).
        self.runner.tasks.close();
        let timeout = self.config.worker.shutdown_timeout();
        if tokio::time::timeout(timeout, self.runner.tasks.wait()).await.is_err() {
            warn!(
                timeout_ms = timeout.as_millis() as u64,
                "records still running or queued at the shutdown deadline are left unfinished and will be replayed"
            );
        }

        if let Some(task) = self.commit_task.take() {
            let _ = task.await;
        }
        let watermarks = {
            let mut scheduler = self.runner.shared.lock();
            let owned = scheduler.owned_partitions();
            scheduler.revoke(&owned)
        };
        let telemetry = &self.runner.processor.telemetry;
        kafka::block_in_place_if_possible(|| {
            kafka::commit_final(self.consumer.as_ref(), &self.runner.shared, telemetry, &watermarks)
        });
        self.consumer.unsubscribe();
        self.runner.shared.queues.close_all();
        drop(self.consumer);
        info!("worker stopped");
    }
}

/// Waits until the running commit task ends, or forever if none runs.
async fn commit_ended(task: &mut Option<tokio::task::JoinHandle<()>>) {
    match task {
        Some(task) => {
            // The panic hook printed a panicked commit; the next commit sends its offsets again.
            let _ = task.await;
        }
        None => std::future::pending().await,
    }
}

/// Builds the codec: the shipped schema versions plus the configured writer schemas.
fn codec(schemas: &SchemasConfig) -> Result<Codec, StartError> {
    let mut extra = Vec::with_capacity(schemas.writer_schema_files.len());
    for path in &schemas.writer_schema_files {
        let text = std::fs::read_to_string(path).map_err(|source| StartError::WriterSchema {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let schema = apache_avro::Schema::parse_str(&text).map_err(|source| StartError::WriterSchema {
            path: path.clone(),
            source: Box::new(source),
        })?;
        extra.push(schema);
    }
    Ok(Codec::new().accepting(extra))
}

/// Builds the schema registry client when `schemas.registry_url` is set.
fn schema_registry(schemas: &SchemasConfig) -> Result<Option<SchemaRegistry>, StartError> {
    let Some(url) = &schemas.registry_url else {
        return Ok(None);
    };
    let credentials = schemas
        .registry_username
        .as_deref()
        .map(|username| (username, schemas.registry_password.as_deref()));
    let timeout = Duration::from_secs(schemas.registry_timeout_secs);
    let registry = SchemaRegistry::with_basic_auth(url, timeout, credentials).map_err(StartError::Registry)?;
    info!(url = %url, basic_auth = credentials.is_some(), "reading Confluent wire-format records through the schema registry");
    Ok(Some(registry))
}

impl Runner {
    fn spawn(&self, job: Job<OwnedMessage>) {
        let runner = self.clone();
        self.tasks.spawn(async move {
            // Boxed, so the task contains a pointer instead of the record's
            // future, which tokio would copy when spawning and finishing it.
            let outcome = Box::pin(runner.processor.process(&job.payload)).await;
            let (next, commit_requested, draining) = {
                let mut scheduler = runner.shared.lock();
                let next = match outcome {
                    Outcome::Finished => scheduler.finish(&job.partition, job.generation, job.offset, &job.key),
                    Outcome::Interrupted => {
                        scheduler.abandon(&job.partition, job.generation);
                        None
                    }
                };
                let commit_requested = scheduler.request_commit_if_due(&job.partition);
                (next, commit_requested, scheduler.is_draining(&job.partition))
            };
            // Only a revoke waits on the condition variable, and only the
            // completion that requests an early commit needs the run loop.
            if draining {
                runner.shared.finished.notify_all();
            }
            if commit_requested {
                runner.shared.wake.notify_one();
            }
            if let Some(next) = next {
                runner.spawn(next);
            }
        });
    }
}
