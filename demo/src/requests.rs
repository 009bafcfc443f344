//! A reproducible mix of user requests, and the effects they must have.

use std::collections::BTreeMap;

use offload_producer::Dispatcher;
use offload_schemas::{Action, CassandraWrite, CqlValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One request of the app's users.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// `actor` likes a post of `owner`.
    Like { owner: String },
    /// `author` comments on post `post` of `owner`; `comment_id` numbers the post's comments.
    Comment {
        author: String,
        owner: String,
        post: String,
        comment_id: i32,
    },
    /// `follower` follows `followee`.
    Follow { follower: String, followee: String },
}

/// The requests and the totals they must produce.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) requests: Vec<Request>,
    /// Expected counters per user: likes received, comments received, followers, following.
    pub(crate) counters: BTreeMap<String, [i64; 4]>,
    /// Expected comments: (post, comment id) → (author, body).
    pub(crate) comments: BTreeMap<(String, i32), (String, String)>,
}

impl Plan {
    /// Number of Cassandra writes the requests dispatch.
    pub(crate) fn action_count(&self) -> usize {
        self.requests
            .iter()
            .map(|request| match request {
                Request::Like { .. } => 1,
                Request::Comment { .. } | Request::Follow { .. } => 2,
            })
            .sum()
    }
}

/// Draws `count` requests among `users` users: half likes, a quarter
/// comments, a quarter follows.
pub(crate) fn generate(count: usize, users: usize, seed: u64) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut plan = Plan::default();
    let mut comments_per_post: BTreeMap<String, i32> = BTreeMap::new();
    let user = |index: usize| format!("user-{index:05}");

    for _ in 0..count {
        let actor = user(rng.random_range(0..users));
        let other = user(rng.random_range(0..users));
        let request = match rng.random_range(0..4) {
            0 | 1 => {
                plan.counters.entry(other.clone()).or_default()[0] += 1;
                Request::Like { owner: other }
            }
            2 => {
                let post = format!("{other}/post-{}", rng.random_range(0..5));
                let next = comments_per_post.entry(post.clone()).or_default();
                let comment_id = *next;
                *next += 1;
                plan.counters.entry(other.clone()).or_default()[1] += 1;
                plan.comments
                    .insert((post.clone(), comment_id), (actor.clone(), body(&actor, comment_id)));
                Request::Comment {
                    author: actor,
                    owner: other,
                    post,
                    comment_id,
                }
            }
            _ => {
                plan.counters.entry(other.clone()).or_default()[2] += 1;
                plan.counters.entry(actor.clone()).or_default()[3] += 1;
                Request::Follow {
                    follower: actor,
                    followee: other,
                }
            }
        };
        plan.requests.push(request);
    }
    plan
}

/// The text of comment `comment_id` by `author`.
pub(crate) fn body(author: &str, comment_id: i32) -> String {
    format!("comment {comment_id} by {author}")
}

impl Request {
    /// Adds this request's actions to `dispatcher`, one entity per affected user or post.
    pub(crate) fn dispatch(&self, dispatcher: &mut Dispatcher, run_id: &str) {
        let bump = |statement: &str, user: &str| {
            write(
                statement,
                vec![
                    CqlValue::BigInt(1),
                    CqlValue::Text(run_id.into()),
                    CqlValue::Text(user.into()),
                ],
            )
        };
        match self {
            Request::Like { owner } => {
                dispatcher.add(owner.as_str(), bump("add_like", owner));
            }
            Request::Comment {
                author,
                owner,
                post,
                comment_id,
            } => {
                dispatcher.add(owner.as_str(), bump("add_comment_received", owner));
                let insert = write(
                    "insert_comment",
                    vec![
                        CqlValue::Text(run_id.into()),
                        CqlValue::Text(post.clone()),
                        CqlValue::Int(*comment_id),
                        CqlValue::Text(author.clone()),
                        CqlValue::Text(body(author, *comment_id)),
                    ],
                );
                dispatcher.add(post.as_str(), insert);
            }
            Request::Follow { follower, followee } => {
                dispatcher.add(followee.as_str(), bump("add_follower", followee));
                dispatcher.add(follower.as_str(), bump("add_following", follower));
            }
        }
    }
}

fn write(statement: &str, values: Vec<CqlValue>) -> Action {
    Action::CassandraWrite(CassandraWrite {
        statement: statement.into(),
        values,
        consistency: None,
        ttl_secs: None,
        timestamp_us: None,
        serial_consistency: None,
        cql: None,
    })
}
