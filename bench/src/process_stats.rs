//! Memory and CPU time of a process, read from Linux's `/proc/<pid>/status`
//! and `/proc/<pid>/stat` (described in proc(5)).

use std::time::Duration;

use anyhow::{bail, Context};
use nix::unistd::{sysconf, SysconfVar};

/// Memory of a process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), in bytes.
    pub resident_bytes: u64,
    /// Highest resident set size so far (`VmHWM`, the high-water mark), in bytes.
    pub peak_resident_bytes: u64,
}

/// Reads the memory of process `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path} failed"))?;
    parse_memory(&status).with_context(|| format!("{path} has no VmRSS or VmHWM line"))
}

/// Reads the CPU time process `pid` has used, in user and kernel mode together.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path} failed"))?;
    let ticks = parse_cpu_ticks(&stat).with_context(|| format!("{path} has no utime and stime fields"))?;
    let ticks_per_second = match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as u64,
        _ => bail!("sysconf(_SC_CLK_TCK) returned no value"),
    };
    Ok(Duration::from_secs_f64(ticks as f64 / ticks_per_second as f64))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let kilobytes = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Some(Memory {
        resident_bytes: kilobytes("VmRSS:")? * 1024,
        peak_resident_bytes: kilobytes("VmHWM:")? * 1024,
    })
}

/// Returns utime + stime, in clock ticks. They are fields 14 and 15 of the
/// stat line. The command name (field 2) is in parentheses and may contain
/// spaces, so counting starts after its closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_memory_reads_rss_and_high_water_mark() {
        let status = "Name:\toffload-worker\nVmPeak:\t  900000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\n";

        let memory = parse_memory(status).expect("both lines are present");

        assert_eq!(memory.resident_bytes, 40 * 1024 * 1024);
        assert_eq!(memory.peak_resident_bytes, 80 * 1024 * 1024);
    }

    #[test]
    fn parse_cpu_ticks_skips_a_name_with_spaces() {
        let stat = "4242 (offload worker) S 1 4242 4242 0 -1 4194560 100 0 0 0 350 25 0 0 20 0 9 0 1 2 3";

        assert_eq!(parse_cpu_ticks(stat), Some(375));
    }

    #[test]
    fn memory_of_this_process_is_positive() {
        let memory = memory(std::process::id()).expect("this process has a /proc entry");

        assert!(memory.resident_bytes > 0);
        assert!(memory.peak_resident_bytes >= memory.resident_bytes);
    }
}
