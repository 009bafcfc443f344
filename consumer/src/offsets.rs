//! Tracking of the offset each partition may commit.
//!
//! A partition's committable offset is the lowest offset not yet finished:
//! every record below it is done (executed or dead-lettered), so a worker
//! that restarts from it replays only unfinished work. It never moves
//! backwards.

use std::collections::{BTreeSet, HashMap};

/// A topic and partition.
pub type Partition = (String, i32);

/// Per-partition progress.
#[derive(Debug, Default)]
struct PartitionProgress {
    /// Offsets received and not yet finished.
    in_flight: BTreeSet<i64>,
    /// One past the highest finished offset.
    next_after_finished: Option<i64>,
    /// The last offset handed out by [`OffsetTracker::committable`].
    committed: Option<i64>,
}

impl PartitionProgress {
    fn watermark(&self) -> Option<i64> {
        match self.in_flight.first() {
            Some(lowest_unfinished) => Some(*lowest_unfinished),
            None => self.next_after_finished,
        }
    }
}

/// Progress of every owned partition.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<Partition, PartitionProgress>,
}

impl OffsetTracker {
    /// Creates a tracker that owns no partition.
    pub fn new() -> OffsetTracker {
        OffsetTracker::default()
    }

    /// Records that `offset` was received and its work has started.
    pub fn start(&mut self, topic: &str, partition: i32, offset: i64) {
        let progress = self.partitions.entry((topic.to_string(), partition)).or_default();
        progress.in_flight.insert(offset);
    }

    /// Records that the work of `offset` is done. A completion for a
    /// partition that was revoked meanwhile is ignored.
    pub fn finish(&mut self, topic: &str, partition: i32, offset: i64) {
        let Some(progress) = self.partitions.get_mut(&(topic.to_string(), partition)) else {
            return;
        };
        if !progress.in_flight.remove(&offset) {
            return;
        }
        let next = offset + 1;
        if progress.next_after_finished.is_none_or(|current| next > current) {
            progress.next_after_finished = Some(next);
        }
    }

    /// Forgets the partitions that were revoked.
    pub fn revoke<'a>(&mut self, revoked: impl IntoIterator<Item = (&'a str, i32)>) {
        for (topic, partition) in revoked {
            self.partitions.remove(&(topic.to_string(), partition));
        }
    }

    /// Returns, for each partition whose watermark moved since the last
    /// call, the offset to commit, and remembers it as committed.
    pub fn committable(&mut self) -> Vec<(Partition, i64)> {
        let mut due = Vec::new();
        for (partition, progress) in &mut self.partitions {
            let Some(watermark) = progress.watermark() else {
                continue;
            };
            if progress.committed.is_some_and(|committed| watermark <= committed) {
                continue;
            }
            progress.committed = Some(watermark);
            due.push((partition.clone(), watermark));
        }
        due.sort();
        due
    }

    /// Returns the committable offset of the given partitions, whether or not
    /// it moved, for a synchronous commit before they are released.
    pub fn watermarks<'a>(&self, partitions: impl IntoIterator<Item = (&'a str, i32)>) -> Vec<(Partition, i64)> {
        partitions
            .into_iter()
            .filter_map(|(topic, partition)| {
                let key = (topic.to_string(), partition);
                let watermark = self.partitions.get(&key)?.watermark()?;
                Some((key, watermark))
            })
            .collect()
    }

    /// Number of records received and not yet finished, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions.values().map(|progress| progress.in_flight.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_stops_at_lowest_unfinished() {
        let mut tracker = OffsetTracker::new();
        for offset in 10..15 {
            tracker.start("t", 0, offset);
        }
        tracker.finish("t", 0, 10);
        tracker.finish("t", 0, 12);
        tracker.finish("t", 0, 13);

        assert_eq!(tracker.committable(), vec![(("t".into(), 0), 11)]);

        tracker.finish("t", 0, 11);
        tracker.finish("t", 0, 14);
        assert_eq!(tracker.committable(), vec![(("t".into(), 0), 15)]);
    }

    #[test]
    fn committable_reports_each_offset_once() {
        let mut tracker = OffsetTracker::new();
        tracker.start("t", 3, 0);
        tracker.finish("t", 3, 0);

        assert_eq!(tracker.committable(), vec![(("t".into(), 3), 1)]);
        assert_eq!(tracker.committable(), vec![]);
    }

    #[test]
    fn unfinished_first_record_is_the_watermark() {
        let mut tracker = OffsetTracker::new();
        tracker.start("t", 0, 7);

        assert_eq!(tracker.committable(), vec![(("t".into(), 0), 7)]);
        assert_eq!(tracker.in_flight(), 1);
    }

    #[test]
    fn completion_after_revoke_is_ignored() {
        let mut tracker = OffsetTracker::new();
        tracker.start("t", 1, 5);
        tracker.revoke([("t", 1)]);
        tracker.finish("t", 1, 5);

        assert_eq!(tracker.committable(), vec![]);
        assert_eq!(tracker.watermarks([("t", 1)]), vec![]);
    }

    #[test]
    fn watermark_never_moves_backwards() {
        let mut tracker = OffsetTracker::new();
        tracker.start("t", 0, 20);
        tracker.finish("t", 0, 20);
        assert_eq!(tracker.committable(), vec![(("t".into(), 0), 21)]);

        // A replay from an older position after a seek must not lower it.
        tracker.start("t", 0, 4);
        assert_eq!(tracker.committable(), vec![]);
    }
}
