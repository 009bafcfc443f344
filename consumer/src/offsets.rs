//! Progress of one partition: which offsets are in flight, and which offset
//! may be committed.
//!
//! The committable offset is the lowest offset not yet finished: every
//! record below it is done (executed or dead-lettered), so a worker that
//! restarts from it replays only unfinished work. It never moves backwards.
//!
//! A crash replays from the offset Kafka last confirmed as committed, not
//! from the watermark, so the records a crash would replay are those from
//! that replay base to the highest received offset (see
//! [`PartitionOffsets::span`]).

use std::collections::BTreeSet;

/// The offsets of one partition that were received and not yet finished.
#[derive(Debug, Default)]
pub struct PartitionOffsets {
    /// Offsets received and not yet finished.
    in_flight: BTreeSet<i64>,
    /// One past the highest finished offset.
    next_after_finished: Option<i64>,
    /// The highest offset Kafka confirmed as committed.
    confirmed: Option<i64>,
    /// The first offset received in this assignment: where a restart begins
    /// before Kafka confirmed a commit.
    first_received: Option<i64>,
    /// The highest offset received.
    highest_started: Option<i64>,
}

impl PartitionOffsets {
    /// Records that `offset` was received.
    pub fn start(&mut self, offset: i64) {
        self.in_flight.insert(offset);
        if self.first_received.is_none() {
            self.first_received = Some(offset);
        }
        if self.highest_started.is_none_or(|highest| offset > highest) {
            self.highest_started = Some(offset);
        }
    }

    /// Records that the work of `offset` is done.
    pub fn finish(&mut self, offset: i64) {
        if !self.in_flight.remove(&offset) {
            return;
        }
        let next = offset + 1;
        if self.next_after_finished.is_none_or(|current| next > current) {
            self.next_after_finished = Some(next);
        }
    }

    /// Number of offsets received and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Returns the offset a restart would begin at: the last offset Kafka
    /// confirmed as committed, or before the first confirm the first offset
    /// received in this assignment.
    pub fn replay_base(&self) -> Option<i64> {
        self.confirmed.or(self.first_received)
    }

    /// Number of offsets from the replay base to the highest received one:
    /// the records a restart would replay if the worker stopped now, finished
    /// or not. Only a confirmed commit makes it shrink.
    pub fn span(&self) -> usize {
        match (self.replay_base(), self.highest_started) {
            (Some(base), Some(highest)) if highest >= base => (highest + 1 - base) as usize,
            _ => 0,
        }
    }

    /// Number of offsets from the replay base to the watermark: records that
    /// are finished but would still be replayed, because no commit past them
    /// was confirmed yet.
    pub fn unconfirmed(&self) -> usize {
        match (self.replay_base(), self.watermark()) {
            (Some(base), Some(watermark)) if watermark > base => (watermark - base) as usize,
            _ => 0,
        }
    }

    /// Returns the offset to commit: the lowest unfinished offset, or one
    /// past the highest finished one when nothing is in flight.
    pub fn watermark(&self) -> Option<i64> {
        match self.in_flight.first() {
            Some(lowest_unfinished) => Some(*lowest_unfinished),
            None => self.next_after_finished,
        }
    }

    /// Returns the watermark if it is past the offset Kafka last confirmed.
    /// It is returned again on every call until [`PartitionOffsets::confirm`]
    /// records it, so a commit that failed (for example during a rebalance)
    /// is sent again.
    pub fn committable(&self) -> Option<i64> {
        let watermark = self.watermark()?;
        if self.confirmed.is_some_and(|confirmed| watermark <= confirmed) {
            return None;
        }
        Some(watermark)
    }

    /// Records that Kafka confirmed a commit of `offset`.
    pub fn confirm(&mut self, offset: i64) {
        if self.confirmed.is_none_or(|confirmed| offset > confirmed) {
            self.confirmed = Some(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_stops_at_lowest_unfinished() {
        let mut offsets = PartitionOffsets::default();
        for offset in 10..15 {
            offsets.start(offset);
        }
        offsets.finish(10);
        offsets.finish(12);
        offsets.finish(13);

        assert_eq!(offsets.committable(), Some(11));

        offsets.finish(11);
        offsets.finish(14);
        assert_eq!(offsets.committable(), Some(15));
    }

    #[test]
    fn committable_offset_repeats_until_confirmed() {
        let mut offsets = PartitionOffsets::default();
        offsets.start(0);
        offsets.finish(0);

        assert_eq!(offsets.committable(), Some(1));
        assert_eq!(offsets.committable(), Some(1));

        offsets.confirm(1);
        assert_eq!(offsets.committable(), None);
    }

    #[test]
    fn unfinished_first_record_is_the_watermark() {
        let mut offsets = PartitionOffsets::default();
        offsets.start(7);

        assert_eq!(offsets.committable(), Some(7));
        assert_eq!(offsets.in_flight(), 1);
    }

    #[test]
    fn span_counts_finished_records_until_confirmed() {
        let mut offsets = PartitionOffsets::default();
        for offset in 0..5 {
            offsets.start(offset);
        }
        offsets.finish(1);
        offsets.finish(2);
        offsets.finish(3);
        offsets.finish(4);

        assert_eq!(offsets.in_flight(), 1);
        assert_eq!(offsets.span(), 5);
        assert_eq!(offsets.unconfirmed(), 0);

        offsets.finish(0);
        assert_eq!(
            offsets.span(),
            5,
            "finished records are replayed until a commit is confirmed"
        );
        assert_eq!(offsets.unconfirmed(), 5);

        offsets.confirm(5);
        assert_eq!(offsets.span(), 0);
        assert_eq!(offsets.unconfirmed(), 0);
    }

    #[test]
    fn replay_base_starts_at_first_received_offset() {
        let mut offsets = PartitionOffsets::default();
        assert_eq!(offsets.replay_base(), None);
        assert_eq!(offsets.span(), 0);

        offsets.start(40);
        offsets.start(41);
        offsets.finish(40);
        assert_eq!(offsets.replay_base(), Some(40));
        assert_eq!(offsets.span(), 2);
        assert_eq!(offsets.unconfirmed(), 1);

        offsets.confirm(41);
        assert_eq!(offsets.replay_base(), Some(41));
        assert_eq!(offsets.span(), 1);
        assert_eq!(offsets.unconfirmed(), 0);
    }

    #[test]
    fn unknown_offset_finish_is_ignored() {
        let mut offsets = PartitionOffsets::default();
        offsets.start(3);
        offsets.finish(9);

        assert_eq!(offsets.watermark(), Some(3));
    }

    #[test]
    fn watermark_never_moves_backwards() {
        let mut offsets = PartitionOffsets::default();
        offsets.start(20);
        offsets.finish(20);
        assert_eq!(offsets.committable(), Some(21));
        offsets.confirm(21);

        // A replay from an older position after a seek must not lower it.
        offsets.start(4);
        assert_eq!(offsets.committable(), None);
        assert_eq!(offsets.span(), 0);
        assert_eq!(offsets.unconfirmed(), 0);
    }
}
