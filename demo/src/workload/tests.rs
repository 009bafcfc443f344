use chrono::NaiveDate;

use super::*;
use crate::input::{Message, SiteComment, SitePost, SiteVote};

fn time(day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2020, 1, day)
        .and_then(|date| date.and_hms_opt(hour, 0, 0))
        .expect("valid time")
}

fn sample() -> Input {
    Input {
        site_users: vec![1, 2, 3],
        posts: vec![
            SitePost {
                id: 10,
                owner: Some(1),
                created: time(1, 0),
            },
            SitePost {
                id: 11,
                owner: None,
                created: time(1, 1),
            },
        ],
        comments: vec![
            SiteComment {
                id: 20,
                post: 10,
                author: Some(2),
                created: time(2, 0),
            },
            SiteComment {
                id: 21,
                post: 10,
                author: Some(2),
                created: time(3, 0),
            },
        ],
        votes: vec![SiteVote {
            id: 30,
            post: 11,
            created: time(2, 0),
        }],
        messages: vec![
            Message {
                index: 0,
                source: 1,
                target: 2,
                sent: time(1, 0),
            },
            Message {
                index: 1,
                source: 1,
                target: 2,
                sent: time(5, 0),
            },
        ],
    }
}

#[test]
fn records_without_user_are_skipped() {
    let workload = build(&sample(), 7);
    // Post 11 has no owner, so the post itself and the vote on it are skipped.
    assert_eq!(workload.skipped_records, 2);
}

#[test]
fn first_interaction_follows_once() {
    let workload = build(&sample(), 7);
    let controllers: Vec<&str> = workload
        .requests
        .iter()
        .map(|request| request.interaction.controller())
        .collect();
    let count = |name: &str| controllers.iter().filter(|controller| **controller == name).count();
    assert_eq!(count("post"), 1);
    assert_eq!(count("comment"), 2);
    assert_eq!(count("message"), 2);
    assert_eq!(count("follow"), 2, "{controllers:?}");
}

#[test]
fn follow_comes_right_after_its_interaction() {
    let workload = build(&sample(), 7);
    let index = workload
        .requests
        .iter()
        .position(|request| matches!(request.interaction, Interaction::Follow { .. }))
        .expect("a follow");
    assert!(index > 0);
    let previous = &workload.requests[index - 1];
    assert_eq!(previous.at, workload.requests[index].at);
    assert_ne!(previous.interaction.controller(), "follow");
}

#[test]
fn positions_span_each_log() {
    let workload = build(&sample(), 7);
    let positions: Vec<f64> = workload.requests.iter().map(|request| request.position).collect();
    assert!(positions.windows(2).all(|pair| pair[0] <= pair[1]), "{positions:?}");
    assert_eq!(positions.first(), Some(&0.0));
    assert_eq!(positions.last(), Some(&1.0));
}

#[test]
fn request_ids_are_stable() {
    let first = build(&sample(), 7);
    let second = build(&sample(), 7);
    assert_eq!(first.requests, second.requests);
}
