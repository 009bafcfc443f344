//! The time source of token lifetimes.
//!
//! Provider tokens and OAuth2 access tokens carry UNIX timestamps, so their
//! lifetimes are measured in wall-clock time. [`TokioClock`] derives wall-clock
//! time from tokio's clock, so tests under paused time (`tokio::time::advance`)
//! move token ages without waiting.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time in whole seconds since the UNIX epoch.
    fn unix_secs(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }
}

/// The system's wall clock, for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Wall-clock time that advances with tokio's clock: the system time at
/// creation plus the tokio time elapsed since then.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall_at_start: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Starts a clock at the current system time.
    pub fn new() -> TokioClock {
        TokioClock::starting_at(SystemTime::now())
    }

    /// Starts a clock at `wall_at_start`.
    pub fn starting_at(wall_at_start: SystemTime) -> TokioClock {
        TokioClock {
            wall_at_start,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> TokioClock {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.wall_at_start + self.start.elapsed()
    }
}
