//! The worker's internal events: each one logs and updates its metrics in
//! one call, so the run loop only names what happened.
//!
//! Metric names follow `offload_<name>_<unit>[_total]` and use small fixed
//! label sets; every name is defined here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use offload_push::PushOutcome;
use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};
use tracing::{info, warn};

/// Dead-letter log lines per second; the metric counts every one.
const DEAD_LETTER_LOGS_PER_SECOND: u64 = 10;

/// Log lines per second about gone device tokens; the metric counts every one.
const TOKEN_GONE_LOGS_PER_SECOND: u64 = 10;

/// The worker's metrics and the registry that renders them.
#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    events: IntCounterVec,
    actions: IntCounterVec,
    action_duration: HistogramVec,
    end_to_end: HistogramVec,
    retries: IntCounterVec,
    dead_letters: IntCounterVec,
    commits: IntCounter,
    commit_failures: IntCounter,
    rebalances: IntCounterVec,
    paused_partitions: IntGauge,
    in_flight: IntGauge,
    consumer_lag: IntGaugeVec,
    enum_defaults: IntCounterVec,
    unknown_outcomes: IntCounterVec,
    push_outcomes: IntCounterVec,
    dead_letter_logs: Arc<LogRateLimit>,
    token_gone_logs: Arc<LogRateLimit>,
    success: Arc<SuccessSeries>,
}

/// The series every executed event updates, looked up on first use and kept.
/// A lookup by label values hashes the labels under a lock, and the success
/// path would otherwise do four per event.
#[derive(Default)]
struct SuccessSeries {
    executed: OnceLock<(IntCounter, Histogram)>,
    /// `offload_actions_total{outcome="ok"}` and the duration, by action kind.
    actions_ok: [OnceLock<(IntCounter, Histogram)>; ACTION_KINDS.len()],
}

/// Action kinds, as in `Action::kind`.
const ACTION_KINDS: [&str; 3] = ["cassandra_write", "apns_push", "fcm_push"];

/// Lets through at most `per_second` log lines per second and counts the
/// rest, so a burst of poison records cannot flood the log.
#[derive(Debug)]
struct LogRateLimit {
    per_second: u64,
    /// The current second (since the Unix epoch) in the high 32 bits and the
    /// lines logged in it in the low 32 bits.
    window: AtomicU64,
    suppressed: AtomicU64,
}

impl LogRateLimit {
    fn new(per_second: u64) -> LogRateLimit {
        LogRateLimit {
            per_second,
            window: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns `Some(lines suppressed since the last one logged)` when this
    /// line may be logged.
    fn admit(&self) -> Option<u64> {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        let current = self.window.load(Ordering::Relaxed);
        let (window_second, count) = (current >> 32, current & 0xFFFF_FFFF);
        let next = if window_second == second & 0xFFFF_FFFF {
            if count >= self.per_second {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            current + 1
        } else {
            ((second & 0xFFFF_FFFF) << 32) | 1
        };
        // A lost race only lets one extra line through or suppresses one.
        let _ = self
            .window
            .compare_exchange(current, next, Ordering::Relaxed, Ordering::Relaxed);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

impl Telemetry {
    /// Creates the metrics in a new registry.
    pub fn new() -> Telemetry {
        let registry = Registry::new();
        let latency_buckets = exponential_buckets(0.0005, 2.0, 18).expect("valid histogram buckets");

        let telemetry = Telemetry {
            events: counter_vec("offload_events_total", "Events finished, by outcome (executed or dead_lettered).", &["outcome"]),
            actions: counter_vec("offload_actions_total", "Actions attempted, by kind and outcome (ok, retryable, permanent).", &["kind", "outcome"]),
            action_duration: histogram_vec(
                "offload_action_duration_seconds",
                "Time of one action attempt, by kind.",
                &["kind"],
                latency_buckets.clone(),
            ),
            end_to_end: histogram_vec(
                "offload_event_end_to_end_seconds",
                "Time from an event's creation to the end of its execution, by outcome.",
                &["outcome"],
                latency_buckets,
            ),
            retries: counter_vec("offload_retries_total", "Retries scheduled after a retryable failure, by kind and error class.", &["kind", "error_class"]),
            dead_letters: counter_vec("offload_dead_letters_total", "Records sent to the dead-letter topic, by error class.", &["error_class"]),
            commits: IntCounter::new("offload_commits_total", "Offset commits sent to Kafka.").expect("valid metric"),
            commit_failures: IntCounter::new("offload_commit_failures_total", "Offset commits that failed.").expect("valid metric"),
            rebalances: counter_vec("offload_rebalances_total", "Partition assignments and revocations, by kind.", &["kind"]),
            paused_partitions: IntGauge::new("offload_paused_partitions", "Partitions whose window is full, so the worker stopped reading their records until a confirmed commit brings the window down to half.").expect("valid metric"),
            in_flight: IntGauge::new("offload_in_flight_events", "Records received and not yet finished.").expect("valid metric"),
            consumer_lag: IntGaugeVec::new(
                Opts::new("offload_consumer_lag", "Records not yet finished by the group, per owned partition: log end minus max(committed, log start)."),
                &["topic", "partition"],
            )
            .expect("valid metric"),
            enum_defaults: counter_vec(
                "offload_enum_defaults_total",
                "Enum symbols written by a newer schema and read as the default symbol, by field.",
                &["field"],
            ),
            unknown_outcomes: counter_vec(
                "offload_unknown_outcomes_total",
                "Non-idempotent writes that timed out with an unknown outcome, by statement and decision.",
                &["statement", "decision"],
            ),
            push_outcomes: counter_vec(
                "offload_push_outcomes_total",
                "Push sends, by platform, outcome (delivered, retryable, permanent, token_gone) and the provider's reason.",
                &["platform", "outcome", "reason"],
            ),
            dead_letter_logs: Arc::new(LogRateLimit::new(DEAD_LETTER_LOGS_PER_SECOND)),
            token_gone_logs: Arc::new(LogRateLimit::new(TOKEN_GONE_LOGS_PER_SECOND)),
            success: Arc::default(),
            registry,
        };
        telemetry.register_all();
        telemetry
    }

    fn register_all(&self) {
        for collector in self.collectors() {
            self.registry.register(collector).expect("metric names are unique");
        }
    }

    /// Returns the name of every metric the worker exports, including the
    /// ones that have no series yet. Histograms are listed by their base
    /// name, without the `_bucket`, `_sum` and `_count` suffixes.
    pub fn metric_names(&self) -> Vec<String> {
        self.collectors()
            .iter()
            .flat_map(|collector| collector.desc().into_iter().map(|desc| desc.fq_name.clone()))
            .collect()
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.events.clone()),
            Box::new(self.actions.clone()),
            Box::new(self.action_duration.clone()),
            Box::new(self.end_to_end.clone()),
            Box::new(self.retries.clone()),
            Box::new(self.dead_letters.clone()),
            Box::new(self.commits.clone()),
            Box::new(self.commit_failures.clone()),
            Box::new(self.rebalances.clone()),
            Box::new(self.paused_partitions.clone()),
            Box::new(self.in_flight.clone()),
            Box::new(self.consumer_lag.clone()),
            Box::new(self.enum_defaults.clone()),
            Box::new(self.unknown_outcomes.clone()),
            Box::new(self.push_outcomes.clone()),
        ]
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        prometheus::TextEncoder::new()
            .encode_to_string(&families)
            .expect("metrics encode as text")
    }

    /// Records the end of an action attempt.
    pub fn action_attempted(&self, kind: &str, outcome: &str, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let slot = ACTION_KINDS.iter().position(|known| *known == kind);
        if let (Some(slot), "ok") = (slot, outcome) {
            let (count, time) = self.success.actions_ok[slot].get_or_init(|| {
                (
                    self.actions.with_label_values(&[kind, outcome]),
                    self.action_duration.with_label_values(&[kind]),
                )
            });
            count.inc();
            time.observe(seconds);
            return;
        }

        self.actions.with_label_values(&[kind, outcome]).inc();
        self.action_duration.with_label_values(&[kind]).observe(seconds);
    }

    /// Records a finished event; `age` is the time since its creation.
    pub fn event_finished(&self, outcome: &str, age: Option<Duration>) {
        if outcome == "executed" {
            let (count, ages) = self.success.executed.get_or_init(|| {
                (
                    self.events.with_label_values(&[outcome]),
                    self.end_to_end.with_label_values(&[outcome]),
                )
            });
            count.inc();
            if let Some(age) = age {
                ages.observe(age.as_secs_f64());
            }
            return;
        }
        self.events.with_label_values(&[outcome]).inc();
        if let Some(age) = age {
            self.event_finished_age(outcome, age);
        }
    }

    /// Records a dead-lettered event's age at the end of its processing.
    pub fn event_finished_age(&self, outcome: &str, age: Duration) {
        self.end_to_end.with_label_values(&[outcome]).observe(age.as_secs_f64());
    }

    /// A retryable failure will be retried after `delay`. Logs the 1st, 2nd,
    /// 4th, 8th… retry of a record, so a long outage does not flood the log.
    pub fn retry_scheduled(&self, kind: &str, error_class: &str, attempts: u32, delay: Duration, error: &str) {
        self.retries.with_label_values(&[kind, error_class]).inc();
        if attempts.is_power_of_two() {
            warn!(
                kind,
                error_class,
                attempts,
                delay_ms = delay.as_millis() as u64,
                error,
                "action failed; retrying"
            );
        }
    }

    /// Records a record sent to the dead-letter topic. Logs at most
    /// [`DEAD_LETTER_LOGS_PER_SECOND`] lines a second, and the `suppressed`
    /// field of the next line counts the ones left out.
    pub fn dead_lettered(&self, error_class: &str, topic: &str, reason: &str) {
        self.dead_letters.with_label_values(&[error_class]).inc();
        self.events.with_label_values(&["dead_lettered"]).inc();
        if let Some(suppressed) = self.dead_letter_logs.admit() {
            info!(
                error_class,
                dead_letter_topic = topic,
                reason,
                suppressed,
                "record sent to the dead-letter topic"
            );
        }
    }

    /// Counts an offset commit sent to Kafka.
    pub fn committed(&self, partitions: usize) {
        if partitions > 0 {
            self.commits.inc();
        }
    }

    /// Records a failed offset commit.
    pub fn commit_failed(&self, error: &str, partitions: usize) {
        self.commit_failures.inc();
        warn!(
            error,
            partitions, "offset commit failed; it is retried at the next interval"
        );
    }

    /// Partitions were assigned to this worker.
    pub fn partitions_assigned(&self, partitions: &[(String, i32)]) {
        self.rebalances.with_label_values(&["assign"]).inc();
        info!(partitions = ?partition_ids(partitions), "partitions assigned");
    }

    /// Partitions were revoked; their lag series are removed.
    pub fn partitions_revoked(&self, partitions: &[(String, i32)], abandoned: usize) {
        self.rebalances.with_label_values(&["revoke"]).inc();
        for (topic, partition) in partitions {
            let _ = self.consumer_lag.remove_label_values(&[topic, &partition.to_string()]);
        }
        info!(partitions = ?partition_ids(partitions), abandoned, "partitions revoked");
    }

    /// Updates the flow-control gauges.
    pub fn flow(&self, in_flight: usize, full_partitions: usize) {
        self.in_flight.set(in_flight as i64);
        self.paused_partitions.set(full_partitions as i64);
    }

    /// Sets the lag of one owned partition.
    pub fn consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.consumer_lag
            .with_label_values(&[topic, &partition.to_string()])
            .set(lag);
    }

    /// Counts a field whose enum symbol this reader does not know and read as the default.
    pub fn enum_default_used(&self, field: &str) {
        self.enum_defaults.with_label_values(&[field]).inc();
    }

    /// Records a non-idempotent write that timed out with an unknown outcome.
    pub fn unknown_outcome(&self, statement: &str, decision: &str) {
        self.unknown_outcomes.with_label_values(&[statement, decision]).inc();
        warn!(
            statement,
            decision, "non-idempotent write timed out and may or may not have been applied"
        );
    }
}

impl Telemetry {
    /// Counts the outcome of one push send. The labels come from
    /// [`PushOutcome::labels`], which limits the reason to a short label.
    pub fn push_outcome(&self, outcome: &PushOutcome) {
        let [platform, class, reason] = outcome.labels();
        self.push_outcomes
            .with_label_values(&[platform.as_ref(), class.as_ref(), reason.as_ref()])
            .inc();
    }

    /// Logs that a provider reported a device token gone and its feedback
    /// record was published, at most [`TOKEN_GONE_LOGS_PER_SECOND`] lines a
    /// second. `target` names only the token's last characters.
    pub fn token_gone(&self, platform: &str, target: &str, reason: &str, feedback_topic: &str) {
        if let Some(suppressed) = self.token_gone_logs.admit() {
            info!(
                platform,
                target, reason, feedback_topic, suppressed, "device token is gone; published it to the feedback topic"
            );
        }
    }
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry::new()
    }
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("valid metric")
}

fn partition_ids(partitions: &[(String, i32)]) -> Vec<i32> {
    partitions.iter().map(|(_, partition)| *partition).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_admits_per_second_then_counts() {
        let limit = LogRateLimit::new(3);

        let admitted: Vec<Option<u64>> = (0..5).map(|_| limit.admit()).collect();

        // The five calls may straddle a second boundary; then all pass.
        if admitted.iter().all(Option::is_some) {
            return;
        }
        assert_eq!(&admitted[..3], &[Some(0), Some(0), Some(0)]);
        assert_eq!(&admitted[3..], &[None, None]);
        assert_eq!(limit.suppressed.load(Ordering::Relaxed), 2);
    }
}
