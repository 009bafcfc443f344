//! Checks the Kubernetes manifests in `deploy/kubernetes` against the
//! worker: the dashboard and the alerts query only metrics the worker
//! exports, and the mounted configuration loads and stops within the pod's
//! grace period.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use offload_consumer::telemetry::Telemetry;
use offload_consumer::WorkerConfig;

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes")
}

fn read(name: &str) -> String {
    let path = manifests().join(name);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Returns every `offload_*` identifier in `text`.
fn metric_references(text: &str) -> BTreeSet<String> {
    let is_name_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("offload_") {
        let preceded_by_name = rest[..start].chars().next_back().is_some_and(is_name_char);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_name_char(c)).unwrap_or(tail.len());
        if !preceded_by_name {
            found.insert(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    found
}

/// Maps a series name to its metric: a histogram's `_bucket`, `_sum` and
/// `_count` series belong to the histogram.
fn metric_of<'a>(series: &'a str, exported: &BTreeSet<String>) -> &'a str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| series.strip_suffix(suffix))
        .find(|base| exported.contains(*base))
        .unwrap_or(series)
}

/// Returns the integer after `key:` on the first line that has it.
fn yaml_integer(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("`{key}` not found"))
        .trim()
        .trim_matches('"')
        .parse()
        .unwrap_or_else(|error| panic!("`{key}` is not an integer: {error}"))
}

#[test]
fn dashboard_and_alerts_query_exported_metrics() {
    let exported: BTreeSet<String> = Telemetry::new().metric_names().into_iter().collect();

    for file in [
        "grafana-dashboard.json",
        "prometheus-rules.yaml",
        "hpa.yaml",
        "prometheus-adapter-rules.yaml",
    ] {
        let references = metric_references(&read(file));
        assert!(!references.is_empty(), "{file} names no offload metric");

        let unknown: Vec<&String> = references
            .iter()
            .filter(|series| !exported.contains(metric_of(series, &exported)))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file} queries metrics the worker does not export: {unknown:?}"
        );
    }
}

#[test]
fn dashboard_shows_every_exported_metric() {
    let exported: BTreeSet<String> = Telemetry::new().metric_names().into_iter().collect();
    let dashboard = read("grafana-dashboard.json");
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is valid JSON");
    assert!(parsed["panels"].as_array().is_some_and(|panels| !panels.is_empty()));

    let in_panels: BTreeSet<String> = metric_references(&dashboard)
        .iter()
        .map(|series| metric_of(series, &exported).to_string())
        .collect();
    let missing: Vec<&String> = exported.iter().filter(|name| !in_panels.contains(*name)).collect();
    assert!(missing.is_empty(), "the dashboard has no panel for {missing:?}");
}

#[test]
fn mounted_config_loads_and_stops_within_grace_period() {
    let config =
        WorkerConfig::load(Some(&manifests().join("worker.toml"))).expect("deploy/kubernetes/worker.toml loads");

    let grace_ms = yaml_integer(&read("deployment.yaml"), "terminationGracePeriodSeconds") * 1000;
    let session_timeout_ms: u64 = config
        .kafka
        .get("session.timeout.ms")
        .expect("session.timeout.ms is set")
        .to_string()
        .parse()
        .expect("session.timeout.ms is an integer");
    assert!(config.worker.shutdown_timeout_ms < grace_ms);
    assert!(config.worker.shutdown_timeout_ms < session_timeout_ms);
}

#[test]
fn autoscaler_watches_the_worker_group_and_topic() {
    let config =
        WorkerConfig::load(Some(&manifests().join("worker.toml"))).expect("deploy/kubernetes/worker.toml loads");
    let keda = read("keda-scaledobject.yaml");
    let value_of = |key: &str| {
        keda.lines()
            .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix(':'))
            .map(|value| value.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("`{key}` not found in keda-scaledobject.yaml"))
    };

    let group = config.kafka.get("group.id").expect("group.id is set").to_string();
    assert_eq!(value_of("consumerGroup"), group);
    assert_eq!(value_of("topic"), config.topics.dispatch);
    assert_eq!(
        value_of("bootstrapServers"),
        config.kafka["bootstrap.servers"].to_string()
    );
}
