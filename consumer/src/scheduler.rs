//! Ordering and flow control of the records of every owned partition.
//!
//! Records of one partition with the same key run strictly in offset order:
//! a record waits in its key's queue until the record before it finished.
//! Records with different keys run concurrently.
//!
//! A crash replays a partition from the last offset Kafka confirmed as
//! committed (its replay base), finished records included. A partition is
//! full when the offsets from its replay base to the highest received one
//! fill the window, and the run loop then stops reading its queue. Finished
//! records leave the window only when a commit past them is confirmed. So a
//! partition requests a commit as soon as half its window is finished but
//! unconfirmed, and the confirm that brings its span down to half the window
//! reopens it. A crash therefore replays at most one window per partition,
//! whatever the commit interval and the rate.
//!
//! Every assignment of a partition gets a new generation, so a completion
//! that arrives after the partition was revoked (or revoked and assigned
//! again) is recognised and ignored.

use std::collections::VecDeque;

use foldhash::HashMap;

use crate::offsets::PartitionOffsets;

/// A topic and partition.
pub type Partition = (String, i32);

/// A record to execute, with what is needed to report its completion.
#[derive(Debug)]
pub struct Job<T> {
    /// Its partition.
    pub partition: Partition,
    /// The generation of the partition's assignment it belongs to.
    pub generation: u64,
    /// Its offset.
    pub offset: i64,
    /// The ordering key: the record key, or empty without key parallelism.
    pub key: Vec<u8>,
    /// The record itself.
    pub payload: T,
}

/// Decision of [`Scheduler::accept`] for a record.
#[derive(Debug)]
pub enum Accepted<T> {
    /// Nothing runs for its key: start it now.
    Start(Job<T>),
    /// It waits behind an earlier record with the same key.
    Queued,
    /// Its partition is not owned (revoked meanwhile): drop it.
    NotOwned,
}

#[derive(Debug)]
struct PartitionState<T> {
    generation: u64,
    offsets: PartitionOffsets,
    /// Records waiting behind a running record, by key. A key is present
    /// while a record of it runs, even with an empty queue.
    keys: HashMap<Vec<u8>, VecDeque<Job<T>>>,
    /// Records started and not yet finished or abandoned.
    running: usize,
    /// The window is full: its records are not read until a confirmed
    /// commit brings the span down to half the window.
    full: bool,
    /// Set on revoke: running records finish, queued ones do not start.
    draining: bool,
}

/// Ordering and progress of every owned partition.
#[derive(Debug)]
pub struct Scheduler<T> {
    partitions: HashMap<Partition, PartitionState<T>>,
    next_generation: u64,
    key_parallelism: bool,
    window: usize,
    /// A partition has half a window finished but unconfirmed: the run loop
    /// commits as soon as no other commit is running.
    commit_requested: bool,
}

impl<T> Scheduler<T> {
    /// Creates a scheduler that owns no partition. `window` is the number of
    /// offsets from a partition's replay base (the offset Kafka last
    /// confirmed as committed) to its highest received record at which the
    /// partition is full.
    pub fn new(key_parallelism: bool, window: usize) -> Scheduler<T> {
        Scheduler {
            partitions: HashMap::default(),
            next_generation: 0,
            key_parallelism,
            window: window.max(1),
            commit_requested: false,
        }
    }

    /// Takes ownership of newly assigned partitions.
    pub fn assign(&mut self, partitions: &[Partition]) {
        for partition in partitions {
            self.next_generation += 1;
            let state = PartitionState {
                generation: self.next_generation,
                offsets: PartitionOffsets::default(),
                keys: HashMap::default(),
                running: 0,
                full: false,
                draining: false,
            };
            self.partitions.insert(partition.clone(), state);
        }
    }

    /// Registers a received record and decides whether it starts now.
    pub fn accept(&mut self, partition: &Partition, offset: i64, key: &[u8], payload: T) -> Accepted<T> {
        let Some(state) = self.partitions.get_mut(partition) else {
            return Accepted::NotOwned;
        };
        let key = if self.key_parallelism { key.to_vec() } else { Vec::new() };
        state.offsets.start(offset);

        let job = Job {
            partition: partition.clone(),
            generation: state.generation,
            offset,
            key,
            payload,
        };
        match state.keys.get_mut(&job.key) {
            Some(queue) => {
                queue.push_back(job);
                Accepted::Queued
            }
            None if state.draining => {
                state.keys.insert(job.key.clone(), VecDeque::from([job]));
                Accepted::Queued
            }
            None => {
                state.keys.insert(job.key.clone(), VecDeque::new());
                state.running += 1;
                Accepted::Start(job)
            }
        }
    }

    /// Records that `job`'s work is done, and returns the next record of the
    /// same key to start, if any. Completions of a former assignment are ignored.
    pub fn finish(&mut self, partition: &Partition, generation: u64, offset: i64, key: &[u8]) -> Option<Job<T>> {
        let state = self.owned(partition, generation)?;
        state.offsets.finish(offset);
        state.running -= 1;
        next_of_key(state, key)
    }

    /// Records that a started record stopped without finishing (shutdown
    /// came first). Its offset stays unfinished, so it is replayed later.
    pub fn abandon(&mut self, partition: &Partition, generation: u64) {
        if let Some(state) = self.owned(partition, generation) {
            state.running -= 1;
        }
    }

    /// Stops starting queued records of `partitions`, ahead of a revoke.
    pub fn begin_drain(&mut self, partitions: &[Partition]) {
        for partition in partitions {
            if let Some(state) = self.partitions.get_mut(partition) {
                state.draining = true;
            }
        }
    }

    /// Number of running records of `partitions`.
    pub fn running(&self, partitions: &[Partition]) -> usize {
        partitions
            .iter()
            .filter_map(|partition| self.partitions.get(partition))
            .map(|state| state.running)
            .sum()
    }

    /// Forgets revoked partitions and returns their final watermarks, to
    /// commit before they are released.
    pub fn revoke(&mut self, partitions: &[Partition]) -> Vec<(Partition, i64)> {
        let mut watermarks = Vec::new();
        for partition in partitions {
            let Some(state) = self.partitions.remove(partition) else {
                continue;
            };
            if let Some(watermark) = state.offsets.watermark() {
                watermarks.push((partition.clone(), watermark));
            }
        }
        watermarks
    }

    /// Returns the offsets to commit of the partitions whose watermark is
    /// past the offset Kafka last confirmed.
    pub fn committable(&self) -> Vec<(Partition, i64)> {
        let mut due: Vec<(Partition, i64)> = self
            .partitions
            .iter()
            .filter_map(|(partition, state)| Some((partition.clone(), state.offsets.committable()?)))
            .collect();
        due.sort();
        due
    }

    /// Records that Kafka confirmed a commit of `offset` for `partition`, and
    /// reopens the partition if it was full and the span from the new replay
    /// base is at most half the window. Returns whether it reopened.
    pub fn confirm(&mut self, partition: &Partition, offset: i64) -> bool {
        let reopen_at = self.window / 2;
        let Some(state) = self.partitions.get_mut(partition) else {
            return false;
        };
        state.offsets.confirm(offset);
        if state.full && state.offsets.span() <= reopen_at {
            state.full = false;
            return true;
        }
        false
    }

    /// Returns whether records of `partition` may be read: it is owned, not
    /// draining and its window is not full.
    pub fn is_readable(&self, partition: &Partition) -> bool {
        self.partitions
            .get(partition)
            .is_some_and(|state| !state.full && !state.draining)
    }

    /// Marks `partition` full if its window is reached, and returns whether
    /// it is full.
    pub fn mark_if_full(&mut self, partition: &Partition) -> bool {
        let window = self.window;
        match self.partitions.get_mut(partition) {
            Some(state) => {
                if !state.full && state.offsets.span() >= window {
                    state.full = true;
                }
                state.full
            }
            None => true,
        }
    }

    /// Requests a commit if `partition` has at least half its window finished
    /// but not confirmed. Returns whether this call made the request, so the
    /// caller wakes the run loop once per request and not once per record.
    pub fn request_commit_if_due(&mut self, partition: &Partition) -> bool {
        if self.commit_requested {
            return false;
        }
        let due = self
            .partitions
            .get(partition)
            .is_some_and(|state| state.offsets.unconfirmed() >= self.early_commit_at());
        self.commit_requested = due;
        due
    }

    /// Sets the commit request after a commit returned. After a confirm it
    /// stays only if a partition still has half its window unconfirmed.
    /// After a failed commit it is cleared, so the interval commit or a later
    /// completion retries, and a failing coordinator is not sent a commit
    /// after every failed round trip.
    pub fn refresh_commit_request(&mut self, committed: bool) {
        let early_commit_at = self.early_commit_at();
        self.commit_requested = committed
            && self
                .partitions
                .values()
                .any(|state| state.offsets.unconfirmed() >= early_commit_at);
    }

    /// Returns whether a commit was requested, and clears the request.
    pub fn take_commit_request(&mut self) -> bool {
        std::mem::take(&mut self.commit_requested)
    }

    /// Returns whether `partition` is draining ahead of a revoke or shutdown.
    pub fn is_draining(&self, partition: &Partition) -> bool {
        self.partitions.get(partition).is_some_and(|state| state.draining)
    }

    /// Records received and not yet finished, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions.values().map(|state| state.offsets.in_flight()).sum()
    }

    /// Number of partitions whose window is full.
    pub fn full(&self) -> usize {
        self.partitions.values().filter(|state| state.full).count()
    }

    /// Returns the owned partitions.
    pub fn owned_partitions(&self) -> Vec<Partition> {
        self.partitions.keys().cloned().collect()
    }

    /// Unconfirmed offsets at which a partition requests a commit: the part
    /// of the window above half of it, so that a confirm of that much brings
    /// a full window down to the reopening point.
    fn early_commit_at(&self) -> usize {
        self.window - self.window / 2
    }

    fn owned(&mut self, partition: &Partition, generation: u64) -> Option<&mut PartitionState<T>> {
        self.partitions
            .get_mut(partition)
            .filter(|state| state.generation == generation)
    }
}

fn next_of_key<T>(state: &mut PartitionState<T>, key: &[u8]) -> Option<Job<T>> {
    let queue = state.keys.get_mut(key)?;
    if state.draining {
        return None;
    }
    match queue.pop_front() {
        Some(next) => {
            state.running += 1;
            Some(next)
        }
        None => {
            state.keys.remove(key);
            None
        }
    }
}

#[cfg(test)]
mod tests;
