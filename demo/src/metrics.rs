//! Samples of the worker's `/metrics`: finished events and the end-to-end
//! latency histogram (`offload_event_end_to_end_seconds`).

use std::collections::BTreeMap;

/// Counts from one or more worker processes.
#[derive(Debug, Clone, Default)]
pub struct WorkerMetrics {
    /// `offload_events_total` over all outcomes.
    pub events: u64,
    /// Cumulative counts of the end-to-end histogram by upper bound in
    /// seconds (as text, so the map can be summed exactly), executed events only.
    pub latency_buckets: BTreeMap<String, u64>,
    /// `offload_in_flight_events` of the last sample: records received and
    /// not yet finished. Not summed over processes.
    pub in_flight: u64,
}

impl WorkerMetrics {
    /// Reads the worker's `/metrics` on `port`.
    pub async fn scrape(port: u16) -> anyhow::Result<WorkerMetrics> {
        let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(WorkerMetrics::parse(&body))
    }

    /// Parses the Prometheus text format.
    pub fn parse(body: &str) -> WorkerMetrics {
        let mut metrics = WorkerMetrics::default();
        for line in body.lines().filter(|line| !line.starts_with('#')) {
            let Some((name_and_labels, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if name_and_labels == "offload_in_flight_events" {
                metrics.in_flight = value as u64;
            } else if name_and_labels.starts_with("offload_events_total{") {
                metrics.events += value as u64;
            } else if name_and_labels.starts_with("offload_event_end_to_end_seconds_bucket{")
                && name_and_labels.contains("outcome=\"executed\"")
            {
                if let Some(bound) = label(name_and_labels, "le") {
                    metrics.latency_buckets.insert(bound.to_string(), value as u64);
                }
            }
        }
        metrics
    }

    /// Adds the counts of another process.
    pub fn add(&mut self, other: &WorkerMetrics) {
        self.events += other.events;
        for (bound, count) in &other.latency_buckets {
            *self.latency_buckets.entry(bound.clone()).or_default() += count;
        }
    }

    /// Removes the counts of `baseline`, an earlier sample of the same process.
    pub fn subtract(&mut self, baseline: &WorkerMetrics) {
        self.events = self.events.saturating_sub(baseline.events);
        for (bound, count) in &baseline.latency_buckets {
            if let Some(own) = self.latency_buckets.get_mut(bound) {
                *own = own.saturating_sub(*count);
            }
        }
    }

    /// Returns the upper bound, in seconds, of the histogram bucket holding quantile
    /// `q` (0 to 1); `None` without observations. Bucket bounds double, so
    /// this is an upper estimate within a factor of two.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let mut buckets: Vec<(f64, u64)> = self
            .latency_buckets
            .iter()
            .map(|(bound, count)| (bound.parse().unwrap_or(f64::INFINITY), *count))
            .collect();
        buckets.sort_by(|left, right| left.0.total_cmp(&right.0));
        let total = buckets.last()?.1;
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        buckets
            .into_iter()
            .find(|(_, count)| *count >= rank)
            .map(|(bound, _)| bound)
    }
}

fn label<'a>(name_and_labels: &'a str, label: &str) -> Option<&'a str> {
    let start = name_and_labels.find(&format!("{label}=\""))? + label.len() + 2;
    let rest = &name_and_labels[start..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# TYPE offload_events_total counter
offload_events_total{outcome="executed"} 90
offload_events_total{outcome="dead_lettered"} 0
offload_event_end_to_end_seconds_bucket{outcome="executed",le="0.001"} 10
offload_event_end_to_end_seconds_bucket{outcome="executed",le="0.002"} 80
offload_event_end_to_end_seconds_bucket{outcome="executed",le="+Inf"} 90
offload_event_end_to_end_seconds_bucket{outcome="dead_lettered",le="+Inf"} 0
"#;

    #[test]
    fn parse_reads_events_and_buckets() {
        let metrics = WorkerMetrics::parse(SAMPLE);
        assert_eq!(metrics.events, 90);
        assert_eq!(metrics.latency_buckets.len(), 3);
        assert_eq!(metrics.latency_buckets["0.002"], 80);
    }

    #[test]
    fn quantiles_name_the_bucket_bound() {
        let mut metrics = WorkerMetrics::parse(SAMPLE);
        metrics.add(&WorkerMetrics::parse(SAMPLE));
        assert_eq!(metrics.events, 180);
        assert_eq!(metrics.latency_quantile(0.1), Some(0.001));
        assert_eq!(metrics.latency_quantile(0.5), Some(0.002));
        assert_eq!(metrics.latency_quantile(0.99), Some(f64::INFINITY));
    }
}
