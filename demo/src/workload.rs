//! Turns the input's records into the app's user requests, in replay order.
//!
//! Posts become "post", comments "comment", up-votes "like" (with a liker
//! drawn from the site's users, because votes are anonymous), CollegeMsg
//! messages "direct message", and the first interaction of one user with
//! another a "follow". One in eight follows is undone by an "unfollow" two
//! weeks after the pair's last interaction, when that falls inside the log.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::input::Input;
use crate::people::{derive_from, derive_id, Source};

/// Fraction of follows undone, as one in this many (drawn from the pair's ids).
const UNFOLLOW_ONE_IN: u8 = 8;

/// Delay after a pair's last interaction at which a drawn unfollow happens.
const UNFOLLOW_AFTER_DAYS: i64 = 14;

/// A user's action in the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    /// A user published a post.
    Post {
        /// The author.
        poster: Uuid,
        /// The new post.
        post: Uuid,
    },
    /// A user liked a post.
    Like {
        /// The user who liked it.
        actor: Uuid,
        /// The post's author.
        owner: Uuid,
        /// The post.
        post: Uuid,
    },
    /// A user commented on a post.
    Comment {
        /// The user who commented.
        actor: Uuid,
        /// The post's author.
        owner: Uuid,
        /// The post.
        post: Uuid,
        /// The new comment.
        comment: Uuid,
    },
    /// A user started following another.
    Follow {
        /// The user who follows.
        follower: Uuid,
        /// The user followed.
        followee: Uuid,
    },
    /// A user stopped following another.
    Unfollow {
        /// The user who stopped following.
        follower: Uuid,
        /// The user no longer followed.
        followee: Uuid,
    },
    /// A user sent a direct message.
    Message {
        /// The sender.
        sender: Uuid,
        /// The receiver.
        receiver: Uuid,
        /// The conversation of the two users, the same in both directions.
        conversation: Uuid,
        /// The new message.
        message: Uuid,
    },
}

impl Interaction {
    /// Returns the request type, also the controller name of the request log.
    pub fn controller(&self) -> &'static str {
        match self {
            Interaction::Post { .. } => "post",
            Interaction::Like { .. } => "like",
            Interaction::Comment { .. } => "comment",
            Interaction::Follow { .. } => "follow",
            Interaction::Unfollow { .. } => "unfollow",
            Interaction::Message { .. } => "message",
        }
    }
}

/// One user request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Stable id, carried by the request's push notifications.
    pub id: Uuid,
    /// When it happened in the log; counters are keyed by this day, week and hour.
    pub at: NaiveDateTime,
    /// Position in its log's time span, from 0 to 1; the replay compresses
    /// each log's span to the same duration.
    pub position: f64,
    /// What happened.
    pub interaction: Interaction,
}

/// The requests built from the input, and the number of records skipped.
#[derive(Debug, Default)]
pub struct Workload {
    /// Requests in replay order.
    pub requests: Vec<Request>,
    /// Records without a user to attribute them to (deleted accounts).
    pub skipped_records: usize,
}

/// Builds the requests. `seed` draws the likers of the anonymous votes.
pub fn build(input: &Input, seed: u64) -> Workload {
    let mut workload = Workload::default();
    let mut site = site_requests(input, seed, &mut workload.skipped_records);
    let mut college = college_requests(input);
    place(&mut site);
    place(&mut college);
    workload.requests = site;
    workload.requests.extend(college);
    // Stable: a follow stays right after the interaction that caused it.
    workload
        .requests
        .sort_by(|left, right| left.position.total_cmp(&right.position));
    workload
}

/// Creates a request whose position is set later.
fn request(id: Uuid, at: NaiveDateTime, interaction: Interaction) -> Request {
    Request {
        id,
        at,
        position: 0.0,
        interaction,
    }
}

fn site_requests(input: &Input, seed: u64, skipped: &mut usize) -> Vec<Request> {
    let user = |number: i64| derive_id(Source::Site, "user", number);
    let post_id = |number: i64| derive_id(Source::Site, "post", number);
    let owners: HashMap<i64, i64> = input
        .posts
        .iter()
        .filter_map(|post| Some((post.id, post.owner?)))
        .collect();

    let mut interactions = Vec::new();
    for post in &input.posts {
        let Some(owner) = post.owner else {
            *skipped += 1;
            continue;
        };
        let id = derive_id(Source::Site, "post-request", post.id);
        let interaction = Interaction::Post {
            poster: user(owner),
            post: post_id(post.id),
        };
        interactions.push(request(id, post.created, interaction));
    }

    let mut votes: Vec<_> = input.votes.iter().collect();
    votes.sort_by_key(|vote| (vote.created, vote.id));
    let mut rng = StdRng::seed_from_u64(seed);
    for vote in votes {
        let Some(owner) = owners.get(&vote.post) else {
            *skipped += 1;
            continue;
        };
        let Some(&liker) =
            (!input.site_users.is_empty()).then(|| &input.site_users[rng.random_range(0..input.site_users.len())])
        else {
            *skipped += 1;
            continue;
        };
        let interaction = Interaction::Like {
            actor: user(liker),
            owner: user(*owner),
            post: post_id(vote.post),
        };
        interactions.push(request(
            derive_id(Source::Site, "vote", vote.id),
            vote.created,
            interaction,
        ));
    }

    for comment in &input.comments {
        let (Some(author), Some(owner)) = (comment.author, owners.get(&comment.post)) else {
            *skipped += 1;
            continue;
        };
        let interaction = Interaction::Comment {
            actor: user(author),
            owner: user(*owner),
            post: post_id(comment.post),
            comment: derive_id(Source::Site, "comment", comment.id),
        };
        interactions.push(request(
            derive_id(Source::Site, "comment-request", comment.id),
            comment.created,
            interaction,
        ));
    }
    interactions.sort_by_key(|request| request.at);
    with_follows(interactions)
}

fn college_requests(input: &Input) -> Vec<Request> {
    let user = |number: u32| derive_id(Source::College, "user", i64::from(number));
    let interactions = input
        .messages
        .iter()
        .map(|message| {
            let (sender, receiver) = (user(message.source), user(message.target));
            let (low, high) = if sender < receiver {
                (sender, receiver)
            } else {
                (receiver, sender)
            };
            let number = message.index as i64;
            let interaction = Interaction::Message {
                sender,
                receiver,
                conversation: derive_from("conversation", &[low, high]),
                message: derive_id(Source::College, "message", number),
            };
            request(
                derive_id(Source::College, "message-request", number),
                message.sent,
                interaction,
            )
        })
        .collect();
    with_follows(interactions)
}

/// Adds a follow after each first interaction of one user with another,
/// and the drawn unfollows. `interactions` are in time order.
fn with_follows(interactions: Vec<Request>) -> Vec<Request> {
    let Some(end) = interactions.iter().map(|request| request.at).max() else {
        return interactions;
    };
    let mut last_contact: BTreeMap<(Uuid, Uuid), NaiveDateTime> = BTreeMap::new();
    let mut requests = Vec::with_capacity(interactions.len() * 5 / 4);
    for request in interactions {
        let pair = match request.interaction {
            Interaction::Like { actor, owner, .. } | Interaction::Comment { actor, owner, .. } => Some((actor, owner)),
            Interaction::Message { sender, receiver, .. } => Some((sender, receiver)),
            _ => None,
        }
        .filter(|(from, to)| from != to);
        let at = request.at;
        requests.push(request);
        if let Some(pair) = pair {
            if last_contact.insert(pair, at).is_none() {
                let (follower, followee) = pair;
                let id = derive_from("follow", &[follower, followee]);
                requests.push(self::request(id, at, Interaction::Follow { follower, followee }));
            }
        }
    }
    for ((follower, followee), last) in last_contact {
        let id = derive_from("unfollow", &[follower, followee]);
        let at = last + Duration::days(UNFOLLOW_AFTER_DAYS);
        if id.as_bytes()[0].is_multiple_of(UNFOLLOW_ONE_IN) && at <= end {
            requests.push(self::request(id, at, Interaction::Unfollow { follower, followee }));
        }
    }
    requests.sort_by_key(|request| request.at);
    requests
}

/// Sets each request's position in its log's time span.
fn place(requests: &mut [Request]) {
    let (Some(first), Some(last)) = (requests.first(), requests.last()) else {
        return;
    };
    let (start, span) = (first.at, (last.at - first.at).num_seconds().max(1) as f64);
    for request in requests {
        request.position = (request.at - start).num_seconds() as f64 / span;
    }
}

#[cfg(test)]
mod tests;
