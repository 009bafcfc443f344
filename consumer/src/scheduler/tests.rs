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

#[test]
fn full_window_stops_reading_until_half_drained() {
    let mut scheduler = Scheduler::new(true, 4);
    scheduler.assign(&[partition(0)]);
    let mut jobs = Vec::new();
    for offset in 0..4 {
        assert!(scheduler.is_readable(&partition(0)), "before offset {offset}");
        let key = format!("k{offset}").into_bytes();
        jobs.push(started(scheduler.accept(&partition(0), offset, &key, "x")));
        let expect_full = offset == 3;
        assert_eq!(
            scheduler.mark_if_full(&partition(0)),
            expect_full,
            "after offset {offset}"
        );
    }
    assert_eq!(scheduler.full(), 1);
    assert!(!scheduler.is_readable(&partition(0)));

    let first = &jobs[0];
    scheduler.finish(&partition(0), first.generation, first.offset, &first.key);
    assert!(!scheduler.reopen_if_drained(&partition(0)));
    assert!(!scheduler.is_readable(&partition(0)));

    let second = &jobs[1];
    scheduler.finish(&partition(0), second.generation, second.offset, &second.key);
    assert!(scheduler.reopen_if_drained(&partition(0)));
    assert!(!scheduler.reopen_if_drained(&partition(0)), "reopened twice");
    assert_eq!(scheduler.full(), 0);
    assert!(scheduler.is_readable(&partition(0)));
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
