//! The run loop: receive a record, decode it, execute its actions with
//! retries, dead-letter what can never succeed, and commit the offsets of
//! finished records.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use offload_schemas::{Codec, DispatchEvent};
use rand::Rng;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::Message;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument};

use crate::config::{RunConfig, WorkerConfig};
use crate::dead_letter::{DeadLetterProducer, Reason};
use crate::executor::cassandra::StartError as CassandraStartError;
use crate::executor::{CassandraExecutor, Executor};
use crate::kafka::{self, KafkaStartError, WorkerConsumer};
use crate::offsets::OffsetTracker;

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
    /// The dead-letter producer could not be created.
    #[error("invalid settings for the dead-letter producer")]
    DeadLetter(#[source] rdkafka::error::KafkaError),
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

/// How processing of one record ended.
enum Outcome {
    /// Executed, or dead-lettered on purpose: the offset may move past it.
    Finished,
    /// Shutdown came first: the record stays unfinished and is replayed later.
    Interrupted,
}

/// A started worker: connected to Cassandra and Kafka, ready to run.
pub struct Worker {
    consumer: WorkerConsumer,
    tracker: Arc<Mutex<OffsetTracker>>,
    executor: Executor,
    dead_letters: DeadLetterProducer,
    codec: Codec,
    run: RunConfig,
}

impl Worker {
    /// Connects to Cassandra, prepares the statement catalog, creates the
    /// consumer and subscribes to the dispatch topic.
    pub async fn start(config: &WorkerConfig) -> Result<Worker, StartError> {
        let cassandra = CassandraExecutor::connect(&config.cassandra, &config.statements).await?;

        let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
        let consumer = kafka::create_consumer(config, Arc::clone(&tracker))?;
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
        info!(topic = %config.topics.dispatch, group = %group, "worker started");

        Ok(Worker {
            consumer,
            tracker,
            executor: Executor::new(cassandra),
            dead_letters,
            codec: Codec::new(),
            run: config.worker.clone(),
        })
    }

    /// Consumes until `shutdown` is cancelled, then commits what is finished
    /// and leaves the group.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut commit_timer = tokio::time::interval(self.run.commit_interval());
        commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        // NOTE: records are processed one at a time and a retrying record
        // blocks polling, so an outage longer than max.poll.interval.ms makes
        // the worker leave the group until the write succeeds.
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = commit_timer.tick() => self.commit(CommitMode::Async),
                received = self.consumer.recv() => match received {
                    Ok(message) => {
                        if let Outcome::Interrupted = self.process(&message, &shutdown).await {
                            break;
                        }
                    }
                    Err(error) => warn!(%error, "receiving from Kafka failed; retrying"),
                },
            }
        }

        self.commit(CommitMode::Sync);
        self.consumer.unsubscribe();
        info!("worker stopped");
    }

    fn commit(&self, mode: CommitMode) {
        let due = self.tracker.lock().expect("offset tracker lock poisoned").committable();
        if let Err(error) = kafka::commit(&self.consumer, &due, mode) {
            warn!(%error, partitions = due.len(), "offset commit failed; it is retried at the next interval");
        }
    }

    async fn process(&self, message: &BorrowedMessage<'_>, shutdown: &CancellationToken) -> Outcome {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        self.tracker
            .lock()
            .expect("offset tracker lock poisoned")
            .start(topic, partition, offset);

        let span = info_span!(
            "event",
            topic,
            partition,
            offset,
            event_id = tracing::field::Empty,
            entity = tracing::field::Empty
        );
        let outcome = async {
            match self.codec.decode(message.payload().unwrap_or_default()) {
                Ok(event) => {
                    tracing::Span::current()
                        .record("event_id", tracing::field::display(event.event_id))
                        .record("entity", event.entity_key.as_str());
                    self.execute(message, &event, shutdown).await
                }
                Err(decode_error) => {
                    let reason = Reason {
                        class: "undecodable",
                        message: error_chain(&decode_error),
                        attempts: 1,
                        first_failure_ms: now_ms(),
                    };
                    self.dead_letter(message, reason, shutdown).await
                }
            }
        }
        .instrument(span)
        .await;

        if let Outcome::Finished = outcome {
            self.tracker
                .lock()
                .expect("offset tracker lock poisoned")
                .finish(topic, partition, offset);
        }
        outcome
    }

    async fn execute(
        &self,
        message: &BorrowedMessage<'_>,
        event: &DispatchEvent,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let mut next_action = 0;
        let mut attempts: u32 = 0;
        let mut first_failure_ms = None;

        loop {
            attempts += 1;
            let failure = match self.executor.execute_from(event, next_action).await {
                Ok(()) => return Outcome::Finished,
                Err(failure) => failure,
            };
            let first_failure_ms = *first_failure_ms.get_or_insert_with(now_ms);

            if !failure.is_retryable() {
                let reason = Reason {
                    class: failure.class(),
                    message: error_chain(&failure),
                    attempts,
                    first_failure_ms,
                };
                return self.dead_letter(message, reason, shutdown).await;
            }

            next_action = failure.index;
            let delay = backoff(&self.run, attempts);
            // Logs the 1st, 2nd, 4th, 8th… retry of a record, so a long outage
            // does not flood the log.
            if attempts.is_power_of_two() {
                warn!(error = %error_chain(&failure), attempts, delay_ms = delay.as_millis() as u64, "action failed; retrying");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Outcome::Interrupted,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        reason: Reason,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.dead_letters.publish(message, &reason).await {
                Ok(()) => {
                    info!(class = reason.class, reason = %reason.message, dead_letter_topic = self.dead_letters.topic(), "record sent to the dead-letter topic");
                    return Outcome::Finished;
                }
                Err(error) => {
                    error!(%error, attempt, "publishing a dead letter failed; the offset stays until it succeeds");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Outcome::Interrupted,
                _ = tokio::time::sleep(backoff(&self.run, attempt)) => {}
            }
        }
    }
}

/// Returns the delay before retry number `attempt` (from 1): exponential from
/// the initial backoff up to the cap, with full jitter over its upper half.
fn backoff(run: &RunConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = run
        .retry_initial_backoff_ms
        .saturating_mul(1 << exponent)
        .min(run.retry_max_backoff_ms);
    let delay = rand::rng().random_range(ceiling / 2..=ceiling);
    Duration::from_millis(delay)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is after 1970");
    since_epoch.as_millis() as i64
}
