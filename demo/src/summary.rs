//! The summary table printed after a run.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::run::Outcome;

/// Renders the summary of `outcome`.
pub fn render(outcome: &Outcome, chaos: bool) -> String {
    let mut out = String::new();
    let requests: usize = outcome.requests.values().sum();
    let actions: usize = outcome.actions.values().sum();
    let drain_secs = outcome.drain_time.as_secs_f64();
    let replay_secs = outcome.replay_time.as_secs_f64();
    let line = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "  {label:<26}{value}");
    };

    line(&mut out, "run id", outcome.run_id.clone());
    line(
        &mut out,
        "requests",
        format!("{requests:>9}  {}", breakdown(&outcome.requests)),
    );
    line(&mut out, "events published", format!("{:>9}", outcome.events));
    line(
        &mut out,
        "actions",
        format!("{actions:>9}  {}", breakdown(&outcome.actions)),
    );
    line(
        &mut out,
        "skipped input records",
        format!("{:>9}  (no user: deleted accounts)", outcome.skipped_records),
    );
    line(
        &mut out,
        "replay",
        format!(
            "{replay_secs:>9.1} s  ({:.0} requests/s, {:.0} events/s)",
            requests as f64 / replay_secs,
            outcome.events as f64 / replay_secs
        ),
    );
    line(
        &mut out,
        "drained after",
        format!(
            "{drain_secs:>9.1} s  ({:.0} events/s end to end)",
            outcome.events as f64 / drain_secs
        ),
    );
    let quantile = |q: f64| {
        outcome
            .metrics
            .latency_quantile(q)
            .map_or("n/a".to_string(), |seconds| format!("{:.0} ms", seconds * 1000.0))
    };
    line(
        &mut out,
        "end-to-end latency",
        format!(
            "   p50 <= {}, p90 <= {}, p99 <= {}  (worker histogram bucket bounds)",
            quantile(0.5),
            quantile(0.9),
            quantile(0.99)
        ),
    );
    let executed = outcome.metrics.events;
    let rerun = executed.saturating_sub(outcome.events as u64);
    line(
        &mut out,
        "events executed",
        format!("{executed:>9}  ({rerun} of them run again after a kill)"),
    );
    if chaos {
        line(&mut out, "worker kills (SIGKILL)", format!("{:>9}", outcome.kills));
        for (index, kill) in outcome.kill_records.iter().enumerate() {
            let mut partitions = kill.uncommitted.clone();
            partitions.sort_by_key(|(_, lag)| -lag);
            let top: Vec<String> = partitions
                .iter()
                .filter(|(_, lag)| *lag > 0)
                .take(4)
                .map(|(partition, lag)| {
                    let key = kill
                        .pinned_by
                        .iter()
                        .find(|(pinned, _)| pinned == partition)
                        .map_or("", |(_, key)| key.as_str());
                    format!("p{partition} {lag} at {key}")
                })
                .collect();
            line(
                &mut out,
                &format!("  kill {}", index + 1),
                format!(
                    "{:>9}  executed, not committed (replayed); {} in flight; behind log end, at entity: {}",
                    kill.replayed(),
                    kill.in_flight,
                    if top.is_empty() {
                        "none".to_string()
                    } else {
                        top.join(", ")
                    }
                ),
            );
        }
    }

    let report = &outcome.report;
    let _ = writeln!(
        out,
        "  counter tables              cells    exact  overshoot  undershoot"
    );
    let (mut over, mut under) = (0, 0);
    for (table, check) in &report.tables {
        over += check.overshoot;
        under += check.undershoot;
        let _ = writeln!(
            out,
            "    {table:<24}{:>9}{:>9}{:>11}{:>12}",
            check.cells, check.exact, check.overshoot, check.undershoot
        );
    }
    let _ = writeln!(out, "    {:<24}{:>9}{:>9}{over:>11}{under:>12}", "total", "", "");
    for (name, rows) in [("comments rows", &report.comments), ("messages rows", &report.messages)] {
        line(
            &mut out,
            name,
            format!(
                "{:>9}  exact of {} ({} missing or wrong, {} unexpected)",
                rows.exact, rows.expected, rows.wrong, rows.unexpected
            ),
        );
    }
    let pushes = &report.pushes;
    line(
        &mut out,
        "pushes received",
        format!(
            "{:>9}  of {} expected ({} missing, {} duplicates, {} unexpected)",
            pushes.received, pushes.expected, pushes.missing, pushes.duplicates, pushes.unexpected
        ),
    );
    if pushes.other_runs > 0 {
        line(
            &mut out,
            "pushes of other runs",
            format!("{:>9}  (not compared)", pushes.other_runs),
        );
    }
    line(&mut out, "new dead letters", format!("{:>9}", report.dead_letters));
    let verdict = match (outcome.passed, chaos) {
        (true, false) => "passed (every counter, row and push exact)",
        (true, true) => "passed (rows exact, nothing lost; replays counted above)",
        (false, _) => "FAILED",
    };
    line(&mut out, "verification", format!("   {verdict}"));
    for problem in &report.problems {
        let _ = writeln!(out, "    {problem}");
    }
    if !chaos {
        for line in &report.overshoots {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

fn breakdown(counts: &BTreeMap<&'static str, usize>) -> String {
    let parts: Vec<String> = counts.iter().map(|(name, count)| format!("{name} {count}")).collect();
    format!("({})", parts.join(", "))
}
