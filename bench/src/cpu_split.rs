//! An optional split of the machine's CPUs between Cassandra and everything
//! else.
//!
//! On a small machine the local Kafka and Cassandra share the cores with the
//! raw clients and the worker, so every microsecond of client CPU is taken
//! from Cassandra, and the ratio mixes the worker's cost with Cassandra's
//! capacity. In production the worker runs on its own nodes. With the split,
//! every thread of Cassandra runs on the first CPUs, and Kafka, this process
//! and the children it starts (the worker) on the others, for the whole
//! run. So Cassandra has the same CPUs, and only those, for the raw inserts
//! and for the worker's writes. Kafka is on the clients' side because the
//! raw insert phase does not use it and the worker's phase does.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The CPU affinities changed for a run; dropping it restores them.
pub struct CpuSplit {
    /// Each server's process id and its affinity before the split.
    servers: Vec<(i32, CpuSet)>,
    /// This process's affinity before the split.
    own: CpuSet,
}

impl CpuSplit {
    /// Pins the local stack's Cassandra to CPUs `0..cassandra_cpus`, and its
    /// Kafka and this process to the remaining ones.
    pub fn apply(cassandra_cpus: usize) -> anyhow::Result<CpuSplit> {
        let cpus = std::thread::available_parallelism()?.get();
        if cassandra_cpus == 0 || cassandra_cpus >= cpus {
            bail!("--cassandra-cpus {cassandra_cpus} leaves no CPU for Cassandra or for the rest; this machine has {cpus}, so pass 1 to {}", cpus - 1);
        }
        let cassandra_set = cpu_set(0..cassandra_cpus)?;
        let client_set = cpu_set(cassandra_cpus..cpus)?;

        let own = sched_getaffinity(Pid::from_raw(std::process::id() as i32))?;
        let mut split = CpuSplit {
            servers: Vec::new(),
            own,
        };
        let servers = stack_pids()?;
        for (pid, set) in [(servers.kafka, &client_set), (servers.cassandra, &cassandra_set)] {
            let before = sched_getaffinity(Pid::from_raw(pid))
                .with_context(|| format!("reading the CPU affinity of server process {pid} failed"))?;
            split.servers.push((pid, before));
            set_all_threads(pid, set)?;
        }
        set_all_threads(std::process::id() as i32, &client_set)?;
        Ok(split)
    }
}

impl Drop for CpuSplit {
    fn drop(&mut self) {
        for (pid, before) in &self.servers {
            if let Err(error) = set_all_threads(*pid, before) {
                eprintln!("warning: restoring the CPU affinity of server process {pid} failed: {error:#}");
            }
        }
        let _ = set_all_threads(std::process::id() as i32, &self.own);
    }
}

fn cpu_set(cpus: std::ops::Range<usize>) -> anyhow::Result<CpuSet> {
    let mut set = CpuSet::new();
    for cpu in cpus {
        set.set(cpu)?;
    }
    Ok(set)
}

/// Sets the affinity of every thread of `pid`. Threads the process starts
/// later inherit it from the thread that starts them.
fn set_all_threads(pid: i32, set: &CpuSet) -> anyhow::Result<()> {
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    for entry in fs::read_dir(&tasks).with_context(|| format!("listing {} failed", tasks.display()))? {
        let Some(tid) = entry?.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        // A thread may exit between the listing and the call.
        let _ = sched_setaffinity(Pid::from_raw(tid), set);
    }
    Ok(())
}

/// Process ids of the local stack's servers.
struct StackPids {
    kafka: i32,
    cassandra: i32,
}

/// Reads the process ids of the local stack's Kafka and Cassandra from the
/// pid files `deploy/local/stack` writes.
fn stack_pids() -> anyhow::Result<StackPids> {
    let dir = stack_dir();
    let read = |file: &str| -> anyhow::Result<i32> {
        let path = dir.join(file);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} failed; --cassandra-cpus needs the servers of deploy/local/stack (set OFFLOAD_STACK_DIR if it uses another folder)",
                path.display()
            )
        })?;
        text.trim()
            .parse()
            .with_context(|| format!("{} does not hold a process id", path.display()))
    };
    Ok(StackPids {
        kafka: read("kafka/kafka.pid")?,
        cassandra: read("cassandra/cassandra.pid")?,
    })
}

/// Returns the stack's work folder, found the way `deploy/local/stack` finds it.
fn stack_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OFFLOAD_STACK_DIR") {
        return PathBuf::from(dir);
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/state"));
    state.join("offload/stack")
}
