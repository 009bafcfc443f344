//! Fault injection on the local stack's Cassandra: the node is frozen with
//! SIGSTOP and thawed with SIGCONT, so clients see a node that accepts
//! connections but answers nothing, as during a long GC pause or a hung
//! host. Tests that freeze the node must not run in parallel with others
//! that use it; [`FREEZE_LOCK`] serialises them within one test binary.

use std::path::PathBuf;

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Held by every test of a binary that freezes Cassandra.
pub static FREEZE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A frozen Cassandra node; thawed when dropped, even if the test panics.
pub struct FrozenCassandra {
    pid: Pid,
}

impl FrozenCassandra {
    /// Freezes the Cassandra node that `deploy/local/stack up` started.
    pub fn freeze() -> anyhow::Result<FrozenCassandra> {
        let pid = local_cassandra_pid()?;
        kill(pid, Signal::SIGSTOP).with_context(|| format!("sending SIGSTOP to Cassandra (pid {pid}) failed"))?;
        Ok(FrozenCassandra { pid })
    }

    /// Thaws the node.
    pub fn thaw(self) {
        drop(self);
    }
}

impl Drop for FrozenCassandra {
    fn drop(&mut self) {
        let _ = kill(self.pid, Signal::SIGCONT);
    }
}

/// Reads the pid of the stack's Cassandra from its pid file.
fn local_cassandra_pid() -> anyhow::Result<Pid> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .context("neither XDG_STATE_HOME nor HOME is set")?;
    let stack = std::env::var_os("OFFLOAD_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| state.join("offload/stack"));
    let pid_file = stack.join("cassandra/cassandra.pid");
    let text = std::fs::read_to_string(&pid_file).with_context(|| {
        format!(
            "reading {} failed: fault tests need the Cassandra that `deploy/local/stack up` started",
            pid_file.display()
        )
    })?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{} holds no pid", pid_file.display()))?;
    Ok(Pid::from_raw(pid))
}
