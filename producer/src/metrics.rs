//! The producer's Prometheus metrics, registered in a registry the service
//! passes in (or a private one).
//!
//! | name | type | labels | meaning |
//! | --- | --- | --- | --- |
//! | `offload_producer_events_enqueued_total` | counter | | events accepted into the queue |
//! | `offload_producer_queue_full_total` | counter | `policy`, `outcome` | dispatches that found the queue full: `outcome` is `waited` (room came in time) or `rejected` |
//! | `offload_producer_queue_wait_seconds` | histogram | | how long dispatches that found the queue full waited |
//! | `offload_producer_queue_events` | gauge | | events in the queue now |
//! | `offload_producer_deliveries_total` | counter | `outcome` | events Kafka acknowledged (`delivered`) or that failed (`failed`) |

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The producer's metrics.
#[derive(Debug, Clone)]
pub(crate) struct ProducerMetrics {
    pub(crate) enqueued: IntCounter,
    pub(crate) queue_full: IntCounterVec,
    pub(crate) queue_wait: Histogram,
    pub(crate) queue_events: IntGauge,
    pub(crate) deliveries: IntCounterVec,
}

impl ProducerMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub(crate) fn register(registry: &Registry) -> Result<ProducerMetrics, prometheus::Error> {
        let metrics = ProducerMetrics {
            enqueued: IntCounter::new(
                "offload_producer_events_enqueued_total",
                "Events accepted into the producer's queue.",
            )?,
            queue_full: IntCounterVec::new(
                Opts::new(
                    "offload_producer_queue_full_total",
                    "Dispatches that found the producer's queue full, by policy and outcome (waited, rejected).",
                ),
                &["policy", "outcome"],
            )?,
            queue_wait: Histogram::with_opts(
                HistogramOpts::new(
                    "offload_producer_queue_wait_seconds",
                    "Time dispatches that found the queue full waited for room.",
                )
                .buckets(vec![0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            )?,
            queue_events: IntGauge::new("offload_producer_queue_events", "Events in the producer's queue.")?,
            deliveries: IntCounterVec::new(
                Opts::new(
                    "offload_producer_deliveries_total",
                    "Events Kafka acknowledged (delivered) or that failed (failed).",
                ),
                &["outcome"],
            )?,
        };

        registry.register(Box::new(metrics.enqueued.clone()))?;
        registry.register(Box::new(metrics.queue_full.clone()))?;
        registry.register(Box::new(metrics.queue_wait.clone()))?;
        registry.register(Box::new(metrics.queue_events.clone()))?;
        registry.register(Box::new(metrics.deliveries.clone()))?;
        Ok(metrics)
    }
}
