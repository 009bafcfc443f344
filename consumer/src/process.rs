//! Processing of one record: decode it, execute its actions with retries,
//! and dead-letter it when it can never succeed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use offload_schemas::{Codec, DecodeError, DispatchEvent, SchemaRegistry};
use rand::Rng;
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug_span, error, Instrument};

use crate::config::{RunConfig, UnknownOutcome};
use crate::dead_letter::{DeadLetterProducer, Reason};
use crate::executor::{defaulted_enum_fields, ActionError, Executor};
use crate::telemetry::Telemetry;

/// End state of processing one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Executed, or dead-lettered on purpose: the offset may move past it.
    Finished,
    /// Shutdown came first: the record stays unfinished and is replayed later.
    Interrupted,
}

/// Everything a record's task needs.
pub struct Processor {
    /// Runs the actions.
    pub executor: Executor,
    /// Publishes records that can never succeed.
    pub dead_letters: DeadLetterProducer,
    /// Decodes record payloads.
    pub codec: Codec,
    /// Supplies the writer schemas of Confluent wire-format records, when configured.
    pub registry: Option<SchemaRegistry>,
    /// Retry settings.
    pub run: RunConfig,
    /// Logs and metrics.
    pub telemetry: Telemetry,
    /// Cancelled on shutdown; interrupts retry waits.
    pub shutdown: CancellationToken,
    /// Bounds the events executing at once over all partitions.
    pub concurrency: Semaphore,
}

impl Processor {
    /// Processes one record to its end: executed, dead-lettered or interrupted.
    pub async fn process(&self, message: &OwnedMessage) -> Outcome {
        // Debug level, so the default `info` filter does not format these
        // fields for every record (measured at about 5 µs per event).
        let span = debug_span!(
            "event",
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            event_id = tracing::field::Empty,
            entity = tracing::field::Empty,
        );
        async {
            let Ok(_permit) = self.concurrency.acquire().await else {
                return Outcome::Interrupted;
            };
            let Some(decoded) = self.decode(message.payload().unwrap_or_default()).await else {
                return Outcome::Interrupted;
            };
            match decoded {
                Ok(event) => {
                    tracing::Span::current()
                        .record("event_id", tracing::field::display(event.event_id))
                        .record("entity", event.entity_key.as_str());
                    self.count_enum_defaults(&event);
                    self.execute(message, &event).await
                }
                Err(decode_error) => {
                    let reason = Reason {
                        class: "undecodable",
                        message: decode_failure_message(&decode_error),
                        attempts: 1,
                        first_failure_ms: now_ms(),
                    };
                    self.dead_letter(message, reason, None).await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Decodes `payload`, fetching the writer schema of a Confluent record
    /// from the registry when its id is new. While the registry cannot be
    /// reached, the record waits and retries with backoff, because its bytes
    /// decode once the registry responds. Returns `None` on shutdown.
    async fn decode(&self, payload: &[u8]) -> Option<Result<DispatchEvent, DecodeError>> {
        let Some(registry) = &self.registry else {
            return Some(self.codec.decode(payload));
        };
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let error = match self.codec.decode_with_registry(payload, registry).await {
                Err(error) if error.is_retryable() => error,
                result => return Some(result),
            };
            let delay = backoff(&self.run, attempts);
            self.telemetry
                .retry_scheduled("decode", "registry_unavailable", attempts, delay, &error_chain(&error));
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn execute(&self, message: &OwnedMessage, event: &DispatchEvent) -> Outcome {
        let mut next_action = 0;
        let mut attempts: u32 = 0;
        let mut first_failure_ms = None;

        loop {
            attempts += 1;
            let started = Instant::now();
            let result = self.executor.execute_from(event, next_action).await;
            let failure = match result {
                Ok(()) => {
                    self.record_attempts(event, next_action, event.actions.len(), "ok", started);
                    self.telemetry.event_finished("executed", event_age(event));
                    return Outcome::Finished;
                }
                Err(failure) => failure,
            };
            self.record_attempts(event, next_action, failure.index, "ok", started);
            let first_failure_ms = *first_failure_ms.get_or_insert_with(now_ms);

            let decision = self.decide(&failure, attempts);
            let outcome_label = if decision == Decision::Retry {
                "retryable"
            } else {
                "permanent"
            };
            self.telemetry
                .action_attempted(failure.kind, outcome_label, started.elapsed());

            if decision != Decision::Retry {
                let class = match decision {
                    Decision::DeadLetterExhausted => "retries_exhausted",
                    Decision::DeadLetterUnknownOutcome => "unknown_outcome",
                    _ => failure.class(),
                };
                let reason = Reason {
                    class,
                    message: error_chain(&failure),
                    attempts,
                    first_failure_ms,
                };
                return self.dead_letter(message, reason, Some(event)).await;
            }

            next_action = failure.index;
            // A provider's Retry-After is a floor: retrying earlier only
            // earns another 429.
            let delay = backoff(&self.run, attempts).max(failure.retry_after().unwrap_or_default());
            self.telemetry
                .retry_scheduled(failure.kind, failure.class(), attempts, delay, &error_chain(&failure));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Outcome::Interrupted,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Decides between retrying and dead-lettering a failed action.
    fn decide(&self, failure: &ActionError, attempts: u32) -> Decision {
        if !failure.is_retryable() {
            return Decision::DeadLetter;
        }
        if let Some(statement) = failure.unknown_outcome_statement() {
            let decision = match self.run.unknown_outcome {
                UnknownOutcome::Retry => Decision::Retry,
                UnknownOutcome::DeadLetter => Decision::DeadLetterUnknownOutcome,
            };
            let label = if decision == Decision::Retry {
                "retry"
            } else {
                "dead_letter"
            };
            self.telemetry.unknown_outcome(statement, label);
            if decision != Decision::Retry {
                return decision;
            }
        }
        match self.run.max_attempts {
            Some(max) if attempts >= max => Decision::DeadLetterExhausted,
            _ => Decision::Retry,
        }
    }

    /// Counts the successful attempts of actions `from..to`. They share one
    /// duration, measured over the whole call.
    fn record_attempts(&self, event: &DispatchEvent, from: usize, to: usize, outcome: &str, started: Instant) {
        for action in event.actions.iter().take(to).skip(from) {
            self.telemetry
                .action_attempted(action.kind(), outcome, started.elapsed());
        }
    }

    fn count_enum_defaults(&self, event: &DispatchEvent) {
        for field in event.actions.iter().flat_map(defaulted_enum_fields) {
            self.telemetry.enum_default_used(field);
        }
    }

    async fn dead_letter(&self, message: &OwnedMessage, reason: Reason, event: Option<&DispatchEvent>) -> Outcome {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.dead_letters.publish(message, &reason).await {
                Ok(()) => {
                    self.telemetry
                        .dead_lettered(reason.class, self.dead_letters.topic(), &reason.message);
                    if let Some(age) = event.and_then(event_age) {
                        self.telemetry.event_finished_age("dead_lettered", age);
                    }
                    return Outcome::Finished;
                }
                Err(error) => {
                    error!(%error, attempt, "publishing a dead letter failed; the offset stays until it succeeds");
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return Outcome::Interrupted,
                _ = tokio::time::sleep(backoff(&self.run, attempt)) => {}
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Retry,
    DeadLetter,
    DeadLetterExhausted,
    DeadLetterUnknownOutcome,
}

/// Returns the delay before retry number `attempt` (from 1): exponential from
/// the initial backoff up to the cap, with jitter over its upper half.
pub fn backoff(run: &RunConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = run
        .retry_initial_backoff_ms
        .saturating_mul(1 << exponent)
        .min(run.retry_max_backoff_ms);
    let delay = rand::rng().random_range(ceiling / 2..=ceiling);
    Duration::from_millis(delay)
}

/// Formats an error with all its causes, separated by colons.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Returns the dead-letter message of an undecodable record, naming the
/// setting that would have decoded it where there is one.
fn decode_failure_message(error: &DecodeError) -> String {
    let mut message = error_chain(error);
    if matches!(error, DecodeError::RegistryNotConfigured { .. }) {
        message.push_str(
            "; set schemas.registry_url (OFFLOAD_SCHEMAS__REGISTRY_URL) to the registry the producer registered the schema with",
        );
    }
    message
}

fn event_age(event: &DispatchEvent) -> Option<Duration> {
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_micros() as i64;
    let age_us = now_us.checked_sub(event.created_at_us)?;
    (age_us >= 0).then(|| Duration::from_micros(age_us as u64))
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is after 1970");
    since_epoch.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size of the future a function returns, without calling it.
    fn future_size<'a, A: 'a, B: 'a, F>(_: impl FnOnce(&'a A, &'a B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every record's future is moved into its task when it is spawned. The
    /// driver's request future and the push clients' futures are boxed so
    /// that this stays small; unboxed, it was 8.5 KiB in a debug build.
    #[test]
    fn record_future_stays_small() {
        let size = future_size(Processor::process);

        assert!(size <= 3 * 1024, "Processor::process returns a {size}-byte future");
    }

    #[test]
    fn backoff_grows_to_the_cap() {
        let run = RunConfig {
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 1_000,
            ..RunConfig::default()
        };

        let first = backoff(&run, 1);
        let fourth = backoff(&run, 4);
        let late = backoff(&run, 30);

        assert!((50..=100).contains(&(first.as_millis() as u64)), "{first:?}");
        assert!((400..=800).contains(&(fourth.as_millis() as u64)), "{fourth:?}");
        assert!((500..=1_000).contains(&(late.as_millis() as u64)), "{late:?}");
    }
}
