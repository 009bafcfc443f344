use serde_json::json;

use super::*;

fn apns(sequence: u64, token: &str, run_id: &str, request_id: &str) -> RecordedPush {
    RecordedPush {
        sequence,
        platform: "apns".into(),
        target: token.into(),
        body: json!({ "aps": {}, "request_id": request_id, "run_id": run_id }),
    }
}

fn fcm(sequence: u64, token: &str, run_id: &str, request_id: &str) -> RecordedPush {
    RecordedPush {
        sequence,
        platform: "fcm".into(),
        target: token.into(),
        body: json!({ "token": token, "data": { "request_id": request_id, "run_id": run_id } }),
    }
}

fn expected_pushes() -> Expected {
    let mut expected = Expected::default();
    expected.pushes.insert(("a".into(), "r1".into()), 1);
    expected.pushes.insert(("b".into(), "r1".into()), 1);
    expected.pushes.insert(("c".into(), "r2".into()), 1);
    expected
}

#[test]
fn pushes_exact_pass() {
    let recorded = [
        apns(1, "a", "run", "r1"),
        fcm(2, "b", "run", "r1"),
        apns(3, "c", "run", "r2"),
    ];
    let mut report = Report::default();
    check_pushes(&recorded, "run", &expected_pushes(), &mut report);
    assert_eq!(report.pushes.expected, 3);
    assert_eq!(report.pushes.received, 3);
    assert_eq!(report.pushes.missing, 0);
    assert_eq!(report.pushes.duplicates, 0);
    assert!(report.passed(false));
}

#[test]
fn pushes_missing_duplicate_unexpected_counted() {
    let recorded = [
        apns(1, "a", "run", "r1"),
        apns(2, "a", "run", "r1"),
        fcm(3, "b", "run", "r9"),
        apns(4, "c", "other", "r2"),
    ];
    let mut report = Report::default();
    check_pushes(&recorded, "run", &expected_pushes(), &mut report);
    assert_eq!(report.pushes.duplicates, 1);
    assert_eq!(report.pushes.missing, 2, "{:?}", report.problems);
    assert_eq!(report.pushes.unexpected, 1);
    assert_eq!(report.pushes.other_runs, 1);
    assert!(!report.passed(false));
    assert!(!report.passed(true));
}

#[test]
fn duplicates_fail_only_without_kills() {
    let recorded = [
        apns(1, "a", "run", "r1"),
        apns(2, "a", "run", "r1"),
        fcm(3, "b", "run", "r1"),
        apns(4, "c", "run", "r2"),
    ];
    let mut report = Report::default();
    check_pushes(&recorded, "run", &expected_pushes(), &mut report);
    assert!(!report.passed(false));
    assert!(report.passed(true));
}

#[test]
fn lost_counter_fails_with_kills() {
    let mut report = Report::default();
    report.tables.insert(
        "request_log_daily",
        TableCheck {
            cells: 2,
            exact: 1,
            undershoot: 1,
            lost: 1,
            ..TableCheck::default()
        },
    );
    assert!(!report.passed(true));
    report.tables.get_mut("request_log_daily").expect("inserted").lost = 0;
    report.tables.get_mut("request_log_daily").expect("inserted").overshoot = 1;
    assert!(report.passed(true));
    assert!(!report.passed(false));
}
