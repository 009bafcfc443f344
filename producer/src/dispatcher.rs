//! The per-request collector of actions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use offload_schemas::{Action, DispatchEvent};
use uuid::Uuid;

use crate::config::FullQueuePolicy;
use crate::publisher::{Delivery, Publisher};
use crate::trace::current_traceparent;
use crate::validate::{validate_event, ValidationError};

/// Errors of [`Dispatcher::dispatch`] and [`Publisher::publish`]. Nothing
/// was enqueued when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// An event failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The queue had no room for the events within the policy's limits. The
    /// events are returned so that the caller can retry or record them.
    #[error("the producer queue is full ({} policy, waited {waited:?}); {} events were not enqueued", policy.label(), events.len())]
    QueueFull {
        /// The configured policy.
        policy: FullQueuePolicy,
        /// How long the dispatch waited for room.
        waited: Duration,
        /// The events that were not enqueued.
        events: Vec<DispatchEvent>,
    },
    /// One dispatch produced more events than the queue can ever hold.
    #[error(
        "the dispatch has {count} events but queue.capacity is {capacity}; raise the capacity or split the request"
    )]
    TooManyEvents {
        /// Events of the dispatch.
        count: usize,
        /// The queue's capacity.
        capacity: usize,
    },
    /// The publisher's background task has stopped.
    #[error("the publisher has stopped; create a new one")]
    Closed,
}

/// Collects the actions of one request and publishes them when it ends.
///
/// Actions of the same entity become one event, in the order they were
/// added; entities are published in the order they first appeared.
#[derive(Debug)]
pub struct Dispatcher {
    publisher: Publisher,
    entities: Vec<(String, Vec<Action>)>,
}

impl Dispatcher {
    /// Starts an empty dispatcher for one request.
    pub fn new(publisher: &Publisher) -> Dispatcher {
        Dispatcher {
            publisher: publisher.clone(),
            entities: Vec::new(),
        }
    }

    /// Adds `action` for the entity `entity_key`.
    pub fn add(&mut self, entity_key: impl Into<String>, action: impl Into<Action>) -> &mut Self {
        let entity_key = entity_key.into();
        let action = action.into();
        match self.entities.iter_mut().find(|(key, _)| *key == entity_key) {
            Some((_, actions)) => actions.push(action),
            None => self.entities.push((entity_key, vec![action])),
        }
        self
    }

    /// Number of actions collected so far.
    pub fn len(&self) -> usize {
        self.entities.iter().map(|(_, actions)| actions.len()).sum()
    }

    /// Whether no action was added.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Builds one event per entity, validates them and enqueues all of them
    /// or none, without waiting for Kafka. When the queue is full it waits
    /// or fails as [`crate::QueueConfig::when_full`] sets. Await the returned
    /// deliveries to learn the outcome. The records carry the `traceparent`
    /// of the current span.
    pub async fn dispatch(self) -> Result<Vec<Delivery>, DispatchError> {
        if self.entities.is_empty() {
            return Err(ValidationError::NoActions.into());
        }

        let created_at_us = now_micros();
        let source_service = self.publisher.source_service();
        let events: Vec<DispatchEvent> = self
            .entities
            .into_iter()
            .map(|(entity_key, actions)| DispatchEvent {
                event_id: Uuid::new_v4(),
                entity_key,
                created_at_us,
                source_service: source_service.to_string(),
                actions,
            })
            .collect();
        for event in &events {
            validate_event(event)?;
        }

        self.publisher.enqueue(events, current_traceparent()).await
    }
}

fn now_micros() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is after 1970");
    since_epoch.as_micros() as i64
}
