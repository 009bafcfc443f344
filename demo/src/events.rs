//! The primary service's side: the actions each request dispatches, one
//! entity per affected user, post, conversation or counter row group.
//!
//! Modelled on the Vangav example app's request handlers. A like, comment,
//! follow or post bumps the users' total and weekly counters and the
//! analytics counters of the actor's and the owner's region and of the
//! world, and notifies the owner's devices. Every request bumps the
//! request log of its controller for the day and the hour.

use std::collections::BTreeMap;

use offload_schemas::{Action, ApnsAlert, ApnsPush, CassandraWrite, CqlValue, FcmNotification, FcmPush};
use uuid::Uuid;

use crate::calendar;
use crate::people::{devices, region, Device};
use crate::schema::{user_total_statement, user_weekly_statement};
use crate::workload::{Interaction, Request};

/// Key of the custom data field that carries the request id in every push.
pub const REQUEST_ID_FIELD: &str = "request_id";

/// Key of the custom data field that carries the run id in every push.
pub const RUN_ID_FIELD: &str = "run_id";

/// The analytics scope of every user.
pub const WORLD: &str = "world";

/// Builds the actions of requests.
#[derive(Debug, Clone)]
pub struct EventBuilder {
    /// Partition key prefix of every row this run writes.
    pub run_id: String,
    /// The app's bundle id, the `apns-topic` of alerts.
    pub bundle_id: String,
}

/// An action and the entity it is keyed by.
pub type KeyedAction = (String, Action);

impl EventBuilder {
    /// Returns the actions of `request` with their entity keys, in the
    /// order the handler would dispatch them.
    pub fn actions(&self, request: &Request) -> Vec<KeyedAction> {
        let mut actions = Vec::new();
        let day = calendar::day(request.at);
        match request.interaction {
            Interaction::Like { actor, owner, .. } => {
                self.reaction(
                    &mut actions,
                    request,
                    actor,
                    owner,
                    ["likes_received", "likes_received"],
                );
                self.analytics(&mut actions, request, "sent_likes", region(actor));
                self.analytics(&mut actions, request, "received_likes", region(owner));
            }
            Interaction::Comment {
                actor,
                owner,
                post,
                comment,
            } => {
                let insert = self.write(
                    "insert_comment",
                    vec![
                        CqlValue::Uuid(post),
                        CqlValue::Uuid(comment),
                        CqlValue::Uuid(actor),
                        CqlValue::Timestamp(request.at.and_utc().timestamp_millis()),
                    ],
                );
                actions.push((format!("post/{post}"), insert));
                self.reaction(
                    &mut actions,
                    request,
                    actor,
                    owner,
                    ["comments_received", "comments_received"],
                );
                self.analytics(&mut actions, request, "sent_comments", region(actor));
                self.analytics(&mut actions, request, "received_comments", region(owner));
            }
            Interaction::Follow { follower, followee } => {
                actions.push((user(follower), self.user_total("following", follower, 1)));
                actions.push((user(followee), self.user_total("followers", followee, 1)));
                actions.push((user(followee), self.user_weekly("new_followers", followee, request)));
                self.push(
                    &mut actions,
                    request,
                    followee,
                    "New follower",
                    "Someone started following you",
                );
                self.analytics(&mut actions, request, "follows", region(follower));
            }
            Interaction::Unfollow { follower, followee } => {
                actions.push((user(follower), self.user_total("following", follower, -1)));
                actions.push((user(followee), self.user_total("followers", followee, -1)));
                actions.push((user(followee), self.user_weekly("unfollowers", followee, request)));
                self.analytics(&mut actions, request, "unfollows", region(follower));
            }
            Interaction::Post { poster, .. } => {
                actions.push((user(poster), self.user_total("posts", poster, 1)));
                actions.push((user(poster), self.user_weekly("posts", poster, request)));
                self.analytics(&mut actions, request, "new_posts", region(poster));
            }
            Interaction::Message {
                sender,
                receiver,
                conversation,
                message,
            } => {
                let insert = self.write(
                    "insert_message",
                    vec![
                        CqlValue::Uuid(conversation),
                        CqlValue::Uuid(message),
                        CqlValue::Uuid(sender),
                        CqlValue::Uuid(receiver),
                        CqlValue::Timestamp(request.at.and_utc().timestamp_millis()),
                    ],
                );
                actions.push((format!("conversation/{conversation}"), insert));
                let daily = self.analytics_write("analytics_daily", "messages", WORLD, CqlValue::Text(day.clone()));
                actions.push((format!("analytics/messages/{WORLD}/{day}"), daily));
                self.push(
                    &mut actions,
                    request,
                    receiver,
                    "New message",
                    "You have a new direct message",
                );
            }
        }
        self.request_log(&mut actions, request);
        actions
    }

    /// Adds a like's or comment's owner counters (total and weekly), and a
    /// push unless the owner reacted to their own post.
    fn reaction(
        &self,
        actions: &mut Vec<KeyedAction>,
        request: &Request,
        actor: Uuid,
        owner: Uuid,
        [total, weekly]: [&str; 2],
    ) {
        actions.push((user(owner), self.user_total(total, owner, 1)));
        actions.push((user(owner), self.user_weekly(weekly, owner, request)));
        if actor != owner {
            let body = match request.interaction {
                Interaction::Like { .. } => "Someone liked your post",
                _ => "Someone commented on your post",
            };
            self.push(actions, request, owner, "New activity", body);
        }
    }

    /// Adds the daily and annual counters of `metric` for `region` and for the world.
    fn analytics(&self, actions: &mut Vec<KeyedAction>, request: &Request, metric: &str, region: &str) {
        let day = calendar::day(request.at);
        let year = calendar::year(request.at);
        for scope in [region, WORLD] {
            let entity = format!("analytics/{metric}/{scope}/{day}");
            let daily = self.analytics_write("analytics_daily", metric, scope, CqlValue::Text(day.clone()));
            let annual = self.analytics_write("analytics_annual", metric, scope, CqlValue::Int(year));
            actions.push((entity.clone(), daily));
            actions.push((entity, annual));
        }
    }

    /// Adds the request log of the request's controller for its day and hour.
    /// One entity per controller and day, so busy days are hot keys.
    fn request_log(&self, actions: &mut Vec<KeyedAction>, request: &Request) {
        let controller = request.interaction.controller();
        let day = calendar::day(request.at);
        let entity = format!("requests/{controller}/{day}");
        let values = vec![
            CqlValue::CounterDelta(1),
            CqlValue::Text(self.run_id.clone()),
            CqlValue::Text(controller.into()),
            CqlValue::Text(day.clone()),
        ];
        let mut hourly = values.clone();
        hourly.push(CqlValue::Int(calendar::hour(request.at)));
        actions.push((entity.clone(), write("request_log_daily", values)));
        actions.push((entity, write("request_log_hourly", hourly)));
    }

    /// Adds one notification to each device of `receiver`.
    fn push(&self, actions: &mut Vec<KeyedAction>, request: &Request, receiver: Uuid, title: &str, body: &str) {
        let request_id = request.id.to_string();
        for device in devices(receiver) {
            let action = match device {
                Device::Apns(token) => Action::from(ApnsPush {
                    device_token: token,
                    topic: self.bundle_id.clone(),
                    alert: Some(ApnsAlert {
                        title: Some(title.into()),
                        body: Some(body.into()),
                        ..ApnsAlert::default()
                    }),
                    custom_data_json: Some(
                        serde_json::json!({ REQUEST_ID_FIELD: request_id, RUN_ID_FIELD: self.run_id }).to_string(),
                    ),
                    ..ApnsPush::default()
                }),
                Device::Fcm(token) => Action::from(FcmPush {
                    token: Some(token),
                    notification: Some(FcmNotification {
                        title: Some(title.into()),
                        body: Some(body.into()),
                        image: None,
                    }),
                    data: BTreeMap::from([
                        (REQUEST_ID_FIELD.to_string(), request_id.clone()),
                        (RUN_ID_FIELD.to_string(), self.run_id.clone()),
                    ]),
                    ..FcmPush::default()
                }),
            };
            actions.push((user(receiver), action));
        }
    }

    fn user_total(&self, column: &str, user: Uuid, delta: i64) -> Action {
        self.write(
            &user_total_statement(column),
            vec![CqlValue::CounterDelta(delta), CqlValue::Uuid(user)],
        )
    }

    fn user_weekly(&self, column: &str, user: Uuid, request: &Request) -> Action {
        self.write(
            &user_weekly_statement(column),
            vec![
                CqlValue::CounterDelta(1),
                CqlValue::Uuid(user),
                CqlValue::Text(calendar::week(request.at)),
            ],
        )
    }

    fn analytics_write(&self, statement: &str, metric: &str, scope: &str, period: CqlValue) -> Action {
        let values = vec![
            CqlValue::CounterDelta(1),
            CqlValue::Text(self.run_id.clone()),
            CqlValue::Text(metric.into()),
            CqlValue::Text(scope.into()),
            period,
        ];
        write(statement, values)
    }

    /// Builds a write with the run id inserted after the counter delta (the
    /// `SET` clause) when there is one, else first.
    fn write(&self, statement: &str, mut values: Vec<CqlValue>) -> Action {
        let position = usize::from(matches!(values.first(), Some(CqlValue::CounterDelta(_))));
        values.insert(position, CqlValue::Text(self.run_id.clone()));
        write(statement, values)
    }
}

fn user(id: Uuid) -> String {
    format!("user/{id}")
}

fn write(statement: &str, values: Vec<CqlValue>) -> Action {
    Action::CassandraWrite(CassandraWrite::new(statement, values))
}

/// Number of actions by kind: `counter`, `insert`, `apns`, `fcm`.
pub fn kind(action: &Action) -> &'static str {
    match action {
        Action::CassandraWrite(write) if write.statement.starts_with("insert_") => "insert",
        Action::CassandraWrite(_) => "counter",
        Action::ApnsPush(_) => "apns",
        Action::FcmPush(_) => "fcm",
    }
}
