//! The expected content of the tables and the expected notifications after
//! a replay, counted from the requests without the event builder.
//!
//! Rows are keyed as the verifier reads them back: the table, the row's key
//! columns after `run_id` joined with `|`, and the column.

use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};
use uuid::Uuid;

use crate::people::{devices, region};
use crate::workload::{Interaction, Request};

/// One counter cell: table, key columns joined with `|`, counter column.
pub type CounterCell = (&'static str, String, &'static str);

/// The expected content of every table and the expected notifications.
#[derive(Debug, Default)]
pub struct Expected {
    /// Counter cells and their values.
    pub counters: BTreeMap<CounterCell, i64>,
    /// `comments` rows: (post, comment) → (author, created_at in ms).
    pub comments: BTreeMap<(Uuid, Uuid), (Uuid, i64)>,
    /// `messages` rows: (conversation, message) → (sender, receiver, sent_at in ms).
    pub messages: BTreeMap<(Uuid, Uuid), (Uuid, Uuid, i64)>,
    /// Notifications: (device token, request id) → how many.
    pub pushes: BTreeMap<(String, String), u64>,
}

/// Counts what `requests` must produce.
pub fn compute(requests: &[Request]) -> Expected {
    let mut expected = Expected::default();
    for request in requests {
        let day = request.at.format("%Y-%m-%d").to_string();
        let week = request.at.format("%G-W%V").to_string();
        let year = request.at.year();
        let controller = request.interaction.controller();
        expected.add("request_log_daily", format!("{controller}|{day}"), "requests", 1);
        let hour = request.at.hour();
        expected.add(
            "request_log_hourly",
            format!("{controller}|{day}|{hour}"),
            "requests",
            1,
        );

        // (metric, user whose region counts) pairs of the analytics tables.
        let mut metrics: Vec<(&str, Uuid)> = Vec::new();
        let mut notify = None;
        match request.interaction {
            Interaction::Like { actor, owner, .. } => {
                expected.add("user_counters", owner.to_string(), "likes_received", 1);
                expected.add("user_weekly", format!("{owner}|{week}"), "likes_received", 1);
                metrics.extend([("sent_likes", actor), ("received_likes", owner)]);
                notify = (actor != owner).then_some(owner);
            }
            Interaction::Comment {
                actor,
                owner,
                post,
                comment,
            } => {
                expected.add("user_counters", owner.to_string(), "comments_received", 1);
                expected.add("user_weekly", format!("{owner}|{week}"), "comments_received", 1);
                metrics.extend([("sent_comments", actor), ("received_comments", owner)]);
                notify = (actor != owner).then_some(owner);
                let created = request.at.and_utc().timestamp_millis();
                expected.comments.insert((post, comment), (actor, created));
            }
            Interaction::Follow { follower, followee } => {
                expected.add("user_counters", follower.to_string(), "following", 1);
                expected.add("user_counters", followee.to_string(), "followers", 1);
                expected.add("user_weekly", format!("{followee}|{week}"), "new_followers", 1);
                metrics.push(("follows", follower));
                notify = Some(followee);
            }
            Interaction::Unfollow { follower, followee } => {
                expected.add("user_counters", follower.to_string(), "following", -1);
                expected.add("user_counters", followee.to_string(), "followers", -1);
                expected.add("user_weekly", format!("{followee}|{week}"), "unfollowers", 1);
                metrics.push(("unfollows", follower));
            }
            Interaction::Post { poster, .. } => {
                expected.add("user_counters", poster.to_string(), "posts", 1);
                expected.add("user_weekly", format!("{poster}|{week}"), "posts", 1);
                metrics.push(("new_posts", poster));
            }
            Interaction::Message {
                sender,
                receiver,
                conversation,
                message,
            } => {
                expected.add("analytics_daily", format!("messages|world|{day}"), "value", 1);
                notify = Some(receiver);
                let sent = request.at.and_utc().timestamp_millis();
                expected
                    .messages
                    .insert((conversation, message), (sender, receiver, sent));
            }
        }

        for (metric, user) in metrics {
            for scope in [region(user), "world"] {
                expected.add("analytics_daily", format!("{metric}|{scope}|{day}"), "value", 1);
                expected.add("analytics_annual", format!("{metric}|{scope}|{year}"), "value", 1);
            }
        }
        if let Some(receiver) = notify {
            for device in devices(receiver) {
                *expected
                    .pushes
                    .entry((device.token().to_string(), request.id.to_string()))
                    .or_default() += 1;
            }
        }
    }
    expected
}

impl Expected {
    fn add(&mut self, table: &'static str, key: String, column: &'static str, delta: i64) {
        *self.counters.entry((table, key, column)).or_default() += delta;
    }
}
