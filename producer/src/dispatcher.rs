//! The per-request collector of actions.

use std::time::{SystemTime, UNIX_EPOCH};

use offload_schemas::{Action, DispatchEvent};
use uuid::Uuid;

use crate::publisher::{Delivery, PublishError, Publisher};

/// Errors of [`Dispatcher::dispatch`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// An action was added for an empty entity key.
    #[error("entity_key is empty: every action needs the key of the entity it concerns")]
    EmptyEntityKey,
    /// Publishing one of the events failed; the events before it were enqueued.
    #[error("publishing the event for entity `{entity_key}` failed")]
    Publish {
        /// Entity whose event failed.
        entity_key: String,
        /// Deliveries of the events enqueued before the failure, to await or report.
        enqueued: Vec<Delivery>,
        /// Why it failed.
        #[source]
        source: Box<PublishError>,
    },
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("event_id", &self.event_id())
            .finish_non_exhaustive()
    }
}

/// Collects the actions of one request and publishes them when it ends.
///
/// Actions of the same entity become one event, in the order they were
/// added; entities are published in the order they first appeared.
pub struct Dispatcher<'a> {
    publisher: &'a Publisher,
    entities: Vec<(String, Vec<Action>)>,
}

impl<'a> Dispatcher<'a> {
    /// Starts an empty dispatcher for one request.
    pub fn new(publisher: &'a Publisher) -> Dispatcher<'a> {
        Dispatcher {
            publisher,
            entities: Vec::new(),
        }
    }

    /// Adds `action` for the entity `entity_key`.
    pub fn add(&mut self, entity_key: impl Into<String>, action: Action) -> &mut Self {
        let entity_key = entity_key.into();
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

    /// Builds one event per entity and enqueues them all without waiting for
    /// Kafka. Await the returned deliveries to learn the outcome.
    pub fn dispatch(self) -> Result<Vec<Delivery>, DispatchError> {
        if self.entities.iter().any(|(key, _)| key.is_empty()) {
            return Err(DispatchError::EmptyEntityKey);
        }

        let created_at_us = now_micros();
        let mut deliveries = Vec::with_capacity(self.entities.len());
        for (entity_key, actions) in self.entities {
            let event = DispatchEvent {
                event_id: Uuid::new_v4(),
                entity_key,
                created_at_us,
                source_service: self.publisher.source_service().to_string(),
                actions,
            };
            match self.publisher.publish(&event) {
                Ok(delivery) => deliveries.push(delivery),
                Err(source) => {
                    return Err(DispatchError::Publish {
                        entity_key: event.entity_key,
                        enqueued: deliveries,
                        source: Box::new(source),
                    })
                }
            }
        }
        Ok(deliveries)
    }
}

fn now_micros() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is after 1970");
    since_epoch.as_micros() as i64
}
