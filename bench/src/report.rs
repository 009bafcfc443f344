//! The summary table of a drain run.

use std::fmt;
use std::time::Duration;

use crate::drain::DrainReport;
use crate::rate::Rate;

/// Goal of the worker's rate as a share of the smaller limit.
pub const RATIO_GOAL: f64 = 0.9;

impl fmt::Display for DrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.options;
        writeln!(
            f,
            "drain benchmark: {} events, {} partitions, {} entities, {}-byte bodies, max_concurrent_events {}",
            options.events, options.partitions, options.entities, options.body_bytes, options.max_concurrent_events
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<34} {:>9} {:>9} {:>12} {:>13}",
            "phase", "records", "seconds", "per second", "CPU µs/record"
        )?;
        row(f, "publish (producer library)", &self.publish, None)?;
        row(
            f,
            "raw consume (no work)",
            &self.raw_consume.rate,
            Some(self.raw_consume.cpu_time),
        )?;
        row(
            f,
            "raw insert (driver, same statement)",
            &self.raw_insert.rate,
            Some(self.raw_insert.cpu_time),
        )?;
        row(
            f,
            "worker drain (start to committed)",
            &self.worker.rate,
            Some(self.worker.cpu_time),
        )?;
        writeln!(f)?;

        let limit = if self.raw_insert.rate.per_second() < self.raw_consume.rate.per_second() {
            "raw insert"
        } else {
            "raw consume"
        };
        let ratio = self.ratio();
        let verdict = if ratio >= RATIO_GOAL { "met" } else { "missed" };
        writeln!(
            f,
            "  ratio worker / min(limits)         {ratio:.3}  (smaller limit: {limit}; goal >= {RATIO_GOAL}: {verdict})"
        )?;
        writeln!(
            f,
            "  worker peak RSS                    {:.1} MiB",
            self.worker.peak_resident_bytes as f64 / (1024.0 * 1024.0)
        )?;
        writeln!(
            f,
            "  worker CPU                         {:.1} s  ({:.2} cores on average)",
            self.worker.cpu_time.as_secs_f64(),
            self.worker.cpu_time.as_secs_f64() / self.worker.rate.elapsed.as_secs_f64().max(f64::EPSILON)
        )?;
        writeln!(
            f,
            "  worker first commit after          {}",
            self.worker
                .first_commit_after
                .map_or("none seen".to_string(), |after| format!("{:.1} s", after.as_secs_f64()))
        )?;
        writeln!(
            f,
            "  worker log                         {} warnings, {}",
            self.worker.warning_count,
            if self.worker.stopped_cleanly {
                "clean stop"
            } else {
                "UNCLEAN STOP"
            }
        )?;
        writeln!(
            f,
            "  raw consume first record after     {:.1} s",
            self.raw_consume.first_record_after.as_secs_f64()
        )?;
        writeln!(
            f,
            "  raw insert failures                {}{}",
            self.raw_insert.failed,
            self.raw_insert
                .first_error
                .as_deref()
                .map_or(String::new(), |error| format!(" (first: {error})"))
        )?;

        let checks = &self.verification;
        writeln!(
            f,
            "  rows written by the worker         {} of {}; {} sampled rows, {} wrong; {} dead letters",
            checks.rows, options.events, checks.sampled, checks.sampled_wrong, checks.dead_letters
        )?;
        write!(
            f,
            "  verification                       {}",
            if self.passed() { "passed" } else { "FAILED" }
        )
    }
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, rate: &Rate, cpu_time: Option<Duration>) -> fmt::Result {
    let cpu_per_record = match cpu_time {
        Some(cpu) if rate.count > 0 => format!("{:.1}", cpu.as_secs_f64() * 1e6 / rate.count as f64),
        _ => "-".into(),
    };
    writeln!(
        f,
        "  {:<34} {:>9} {:>9.2} {:>12.0} {:>13}",
        name,
        rate.count,
        rate.elapsed.as_secs_f64(),
        rate.per_second(),
        cpu_per_record
    )
}
