use super::*;

fn partition(id: i32) -> Partition {
    ("dispatch".to_string(), id)
}

fn started(accepted: Accepted<&'static str>) -> Job<&'static str> {
    match accepted {
        Accepted::Start(job) => job,
        other => panic!("expected the record to start, it was {other:?}"),
    }
}

#[test]
fn same_key_waits_for_previous_record() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);

    let first = started(scheduler.accept(&partition(0), 0, b"a", "a0"));
    assert!(matches!(
        scheduler.accept(&partition(0), 1, b"a", "a1"),
        Accepted::Queued
    ));
    let other = started(scheduler.accept(&partition(0), 2, b"b", "b0"));

    let next = scheduler.finish(&partition(0), first.generation, first.offset, &first.key);
    assert_eq!(next.map(|job| job.payload), Some("a1"));
    assert_eq!(other.payload, "b0");
}

#[test]
fn without_key_parallelism_records_run_one_at_a_time() {
    let mut scheduler = Scheduler::new(false, 10);
    scheduler.assign(&[partition(0)]);

    let first = started(scheduler.accept(&partition(0), 0, b"a", "a0"));
    assert!(matches!(
        scheduler.accept(&partition(0), 1, b"b", "b0"),
        Accepted::Queued
    ));

    let next = scheduler.finish(&partition(0), first.generation, 0, &first.key);
    assert_eq!(next.map(|job| job.offset), Some(1));
}

#[test]
fn watermark_waits_for_slow_key() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let slow = started(scheduler.accept(&partition(0), 0, b"slow", "s"));
    let fast = started(scheduler.accept(&partition(0), 1, b"fast", "f"));

    scheduler.finish(&partition(0), fast.generation, fast.offset, &fast.key);
    assert_eq!(scheduler.committable(), vec![(partition(0), 0)]);
    scheduler.confirm(&partition(0), 0);

    scheduler.finish(&partition(0), slow.generation, slow.offset, &slow.key);
    assert_eq!(scheduler.committable(), vec![(partition(0), 2)]);
    scheduler.confirm(&partition(0), 2);
    assert_eq!(scheduler.committable(), vec![]);
}

#[test]
fn record_of_unowned_partition_is_dropped() {
    let mut scheduler: Scheduler<&str> = Scheduler::new(true, 10);

    assert!(matches!(
        scheduler.accept(&partition(3), 0, b"a", "x"),
        Accepted::NotOwned
    ));
    assert_eq!(scheduler.in_flight(), 0);
}

#[test]
fn completion_after_revoke_is_ignored() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let job = started(scheduler.accept(&partition(0), 5, b"a", "a"));

    let watermarks = scheduler.revoke(&[partition(0)]);
    assert_eq!(watermarks, vec![(partition(0), 5)]);

    scheduler.assign(&[partition(0)]);
    assert!(scheduler.finish(&partition(0), job.generation, 5, b"a").is_none());
    assert_eq!(scheduler.committable(), vec![]);
}

#[test]
fn draining_partition_starts_nothing_new() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let first = started(scheduler.accept(&partition(0), 0, b"a", "a0"));
    assert!(matches!(
        scheduler.accept(&partition(0), 1, b"a", "a1"),
        Accepted::Queued
    ));

    scheduler.begin_drain(&[partition(0)]);
    assert!(matches!(
        scheduler.accept(&partition(0), 2, b"b", "b0"),
        Accepted::Queued
    ));
    assert_eq!(scheduler.running(&[partition(0)]), 1);

    assert!(scheduler.finish(&partition(0), first.generation, 0, b"a").is_none());
    assert_eq!(scheduler.running(&[partition(0)]), 0);
    assert_eq!(scheduler.revoke(&[partition(0)]), vec![(partition(0), 1)]);
}

#[test]
fn abandoned_record_stays_unfinished() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let job = started(scheduler.accept(&partition(0), 4, b"a", "a"));

    scheduler.abandon(&partition(0), job.generation);

    assert_eq!(scheduler.running(&[partition(0)]), 0);
    assert_eq!(scheduler.committable(), vec![(partition(0), 4)]);
}

/// Accepts offsets `offsets` of partition 0, each with its own key, checking
/// after each one that the partition fills exactly at `full_at`.
fn accept_distinct_keys(
    scheduler: &mut Scheduler<&'static str>,
    offsets: std::ops::Range<i64>,
    full_at: Option<i64>,
) -> Vec<Job<&'static str>> {
    let mut jobs = Vec::new();
    for offset in offsets {
        assert!(scheduler.is_readable(&partition(0)), "before offset {offset}");
        let key = format!("k{offset}").into_bytes();
        jobs.push(started(scheduler.accept(&partition(0), offset, &key, "x")));
        assert_eq!(
            scheduler.mark_if_full(&partition(0)),
            full_at == Some(offset),
            "after offset {offset}"
        );
    }
    jobs
}

fn finish_all(scheduler: &mut Scheduler<&'static str>, jobs: &[Job<&'static str>]) {
    for job in jobs {
        assert!(scheduler
            .finish(&job.partition, job.generation, job.offset, &job.key)
            .is_none());
    }
}

#[test]
fn full_window_stops_reading_until_confirm() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..4, Some(3));
    assert_eq!(scheduler.full(), 1);
    assert!(!scheduler.is_readable(&partition(0)));

    assert!(
        !scheduler.confirm(&partition(0), 0),
        "nothing finished, yet it reopened"
    );
    assert!(!scheduler.is_readable(&partition(0)));

    finish_all(&mut scheduler, &jobs[..2]);
    assert!(!scheduler.is_readable(&partition(0)), "reopened before a confirm");

    assert!(scheduler.confirm(&partition(0), 2));
    assert!(!scheduler.confirm(&partition(0), 2), "reopened twice");
    assert_eq!(scheduler.full(), 0);
    assert!(scheduler.is_readable(&partition(0)));
}

#[test]
fn finished_records_fill_window_until_confirmed() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 10..14, Some(13));

    finish_all(&mut scheduler, &jobs);
    assert_eq!(scheduler.in_flight(), 0);
    assert!(scheduler.mark_if_full(&partition(0)));
    assert!(
        !scheduler.is_readable(&partition(0)),
        "finished but unconfirmed records were not counted"
    );
    assert_eq!(scheduler.committable(), vec![(partition(0), 14)]);

    assert!(scheduler.confirm(&partition(0), 14));
    assert!(scheduler.is_readable(&partition(0)));
    accept_distinct_keys(&mut scheduler, 14..18, Some(17));
}

#[test]
fn confirm_short_of_half_window_keeps_partition_full() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..4, Some(3));
    finish_all(&mut scheduler, &jobs);

    assert!(!scheduler.confirm(&partition(0), 1), "3 offsets still to replay");
    assert!(!scheduler.is_readable(&partition(0)));
    assert!(scheduler.confirm(&partition(0), 2));
    assert!(scheduler.is_readable(&partition(0)));
}

#[test]
fn commit_requested_at_half_window() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 100..110, Some(109));

    for (done, job) in jobs.iter().enumerate().take(4) {
        finish_all(&mut scheduler, std::slice::from_ref(job));
        assert!(
            !scheduler.request_commit_if_due(&partition(0)),
            "requested after {} finished",
            done + 1
        );
    }
    finish_all(&mut scheduler, &jobs[4..5]);
    assert!(scheduler.request_commit_if_due(&partition(0)));

    finish_all(&mut scheduler, &jobs[5..6]);
    assert!(
        !scheduler.request_commit_if_due(&partition(0)),
        "a pending request was made again"
    );
    assert!(scheduler.take_commit_request());
    assert!(!scheduler.take_commit_request(), "the request survived its take");
}

#[test]
fn out_of_order_finishes_do_not_request_commit() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..10, Some(9));

    // Everything but the first record is done, so the watermark stays at 0
    // and a commit would not shrink what a crash replays.
    finish_all(&mut scheduler, &jobs[1..]);
    assert!(!scheduler.request_commit_if_due(&partition(0)));

    finish_all(&mut scheduler, &jobs[..1]);
    assert!(scheduler.request_commit_if_due(&partition(0)));
}

#[test]
fn commit_request_refreshes_after_commit() {
    let mut scheduler = Scheduler::new(true, 10);
    scheduler.assign(&[partition(0), partition(1)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..8, None);
    finish_all(&mut scheduler, &jobs[..5]);
    assert!(scheduler.request_commit_if_due(&partition(0)));
    assert!(scheduler.take_commit_request());

    // Three more finished while the commit of offset 5 was on its way, and
    // 8 unconfirmed offsets request the next commit.
    finish_all(&mut scheduler, &jobs[5..]);
    assert!(scheduler.request_commit_if_due(&partition(0)));
    scheduler.confirm(&partition(0), 5);
    scheduler.refresh_commit_request(true);
    assert!(!scheduler.take_commit_request(), "3 unconfirmed of a window of 10");

    // Another partition with half a window unconfirmed keeps the request.
    for offset in 0..5 {
        let job = started(scheduler.accept(&partition(1), offset, b"a", "y"));
        scheduler.finish(&job.partition, job.generation, job.offset, &job.key);
    }
    scheduler.refresh_commit_request(true);
    assert!(scheduler.take_commit_request());
}

#[test]
fn failed_commit_clears_request() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..4, Some(3));
    finish_all(&mut scheduler, &jobs);
    assert!(scheduler.request_commit_if_due(&partition(0)));

    scheduler.refresh_commit_request(false);
    assert!(!scheduler.take_commit_request(), "a failed commit is retried at once");

    scheduler.refresh_commit_request(true);
    assert!(
        scheduler.take_commit_request(),
        "4 finished records are still unconfirmed after a commit that returned nothing"
    );
}

#[test]
fn reassigned_partition_starts_readable() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let jobs = accept_distinct_keys(&mut scheduler, 0..4, Some(3));
    finish_all(&mut scheduler, &jobs[..1]);

    assert_eq!(scheduler.revoke(&[partition(0)]), vec![(partition(0), 1)]);
    assert_eq!(scheduler.full(), 0);
    scheduler.assign(&[partition(0)]);

    // The new assignment begins where the revoke committed.
    assert!(scheduler.is_readable(&partition(0)));
    accept_distinct_keys(&mut scheduler, 1..5, Some(4));
}

#[test]
fn draining_partition_is_not_readable() {
    let mut scheduler: Scheduler<&str> = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0), partition(1)]);

    scheduler.begin_drain(&[partition(0)]);

    assert!(scheduler.is_draining(&partition(0)));
    assert!(!scheduler.is_readable(&partition(0)));
    assert!(scheduler.is_readable(&partition(1)));
    assert!(
        !scheduler.is_readable(&partition(2)),
        "a partition not owned is readable"
    );
}
