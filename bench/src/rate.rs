//! A count over a measured duration.

use std::time::Duration;

/// Items handled over a measured duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Items handled.
    pub count: u64,
    /// Time they took.
    pub elapsed: Duration,
}

impl Rate {
    /// Creates a rate of `count` items over `elapsed`.
    pub fn new(count: u64, elapsed: Duration) -> Rate {
        Rate { count, elapsed }
    }

    /// Items per second; 0 when no time passed.
    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.count as f64 / seconds
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_second_divides_count_by_seconds() {
        let rate = Rate::new(5_000, Duration::from_millis(2_500));

        assert_eq!(rate.per_second(), 2_000.0);
    }

    #[test]
    fn per_second_of_no_time_is_zero() {
        let rate = Rate::new(10, Duration::ZERO);

        assert_eq!(rate.per_second(), 0.0);
    }
}
