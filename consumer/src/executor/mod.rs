//! Execution of an event's actions, and the classification of failures that
//! decides between retrying and dead-lettering.
//!
//! - [`cassandra`]: catalog statements with bound values.
//! - [`apns`] and [`fcm`]: push actions, converted into the clients' types.
//! - [`push`]: push outcomes, their errors and the feedback of gone tokens.

pub mod apns;
mod bind;
pub mod cassandra;
pub mod fcm;
pub mod push;

use std::time::Duration;

use offload_schemas::{Action, Consistency, DispatchEvent};

pub use apns::ApnsExecutor;
pub use cassandra::{CassandraError, CassandraExecutor};
pub use fcm::FcmExecutor;
pub use push::{PushError, PushExecutors, PushStartError};

/// Failure of one action of an event.
#[derive(Debug, thiserror::Error)]
#[error("action {index} ({kind}) of event {event_id} failed")]
pub struct ActionError {
    /// Id of the event.
    pub event_id: uuid::Uuid,
    /// Position of the failed action in the event; the actions before it are done.
    pub index: usize,
    /// The action's kind, as in [`Action::kind`].
    pub kind: &'static str,
    /// The cause.
    #[source]
    pub source: ExecuteError,
}

impl ActionError {
    /// Returns whether the same action may succeed later (timeouts, unavailable nodes).
    pub fn is_retryable(&self) -> bool {
        self.source.is_retryable()
    }

    /// Returns the statement name if a non-idempotent write timed out with
    /// an unknown outcome.
    pub fn unknown_outcome_statement(&self) -> Option<&str> {
        self.source.unknown_outcome_statement()
    }

    /// Short class of the failure for headers, logs and metric labels.
    pub fn class(&self) -> &'static str {
        self.source.class()
    }

    /// Returns the minimum wait before the next attempt that the target
    /// requested.
    pub fn retry_after(&self) -> Option<Duration> {
        self.source.retry_after()
    }
}

/// The cause of one action's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// The Cassandra write failed.
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    /// The push failed.
    #[error(transparent)]
    Push(#[from] PushError),
    /// The action is a push for a platform this worker has no configuration for.
    #[error("{kind} actions cannot run: this worker has no [{table}] configuration; add the table or run these events on workers that have it")]
    PushNotConfigured {
        /// The action's kind.
        kind: &'static str,
        /// The missing configuration table, `apns` or `fcm`.
        table: &'static str,
    },
}

impl ExecuteError {
    /// Whether the same action may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ExecuteError::Cassandra(error) => error.is_retryable(),
            ExecuteError::Push(error) => error.is_retryable(),
            ExecuteError::PushNotConfigured { .. } => false,
        }
    }

    /// Returns the minimum wait before the next attempt that the target
    /// requested (a push provider's `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ExecuteError::Push(error) => error.retry_after(),
            ExecuteError::Cassandra(_) | ExecuteError::PushNotConfigured { .. } => None,
        }
    }

    /// Returns the statement name if a non-idempotent write timed out with
    /// an unknown outcome.
    pub fn unknown_outcome_statement(&self) -> Option<&str> {
        match self {
            ExecuteError::Cassandra(error) => error.unknown_outcome_statement(),
            ExecuteError::Push(_) | ExecuteError::PushNotConfigured { .. } => None,
        }
    }

    /// Short class of the failure for headers, logs and metric labels.
    pub fn class(&self) -> &'static str {
        match self {
            ExecuteError::Cassandra(error) => error.class(),
            ExecuteError::Push(error) => error.class(),
            ExecuteError::PushNotConfigured { .. } => "push_not_configured",
        }
    }
}

/// Runs the actions of events against their targets.
pub struct Executor {
    cassandra: CassandraExecutor,
    apns: Option<ApnsExecutor>,
    fcm: Option<FcmExecutor>,
}

impl Executor {
    /// Creates an executor over the given targets; push actions of a
    /// platform without an executor fail as [`ExecuteError::PushNotConfigured`].
    pub fn new(cassandra: CassandraExecutor, push: PushExecutors) -> Executor {
        Executor {
            cassandra,
            apns: push.apns,
            fcm: push.fcm,
        }
    }

    /// Executes the actions of `event` in order, starting at `first` so that a
    /// retry does not repeat the actions that already succeeded.
    ///
    /// The push futures are boxed: they are several times larger than a
    /// Cassandra write's, and every event's future would otherwise be as large
    /// as the largest action's and be copied at that size.
    pub async fn execute_from(&self, event: &DispatchEvent, first: usize) -> Result<(), ActionError> {
        for (index, action) in event.actions.iter().enumerate().skip(first) {
            let result = match action {
                Action::CassandraWrite(write) => self.cassandra.execute(event, write).await.map_err(ExecuteError::from),
                Action::ApnsPush(push) => match &self.apns {
                    Some(apns) => Box::pin(apns.execute(event, index, push))
                        .await
                        .map_err(ExecuteError::from),
                    None => Err(ExecuteError::PushNotConfigured {
                        kind: action.kind(),
                        table: "apns",
                    }),
                },
                Action::FcmPush(push) => match &self.fcm {
                    Some(fcm) => Box::pin(fcm.execute(event, index, push))
                        .await
                        .map_err(ExecuteError::from),
                    None => Err(ExecuteError::PushNotConfigured {
                        kind: action.kind(),
                        table: "fcm",
                    }),
                },
            };
            result.map_err(|source| ActionError {
                event_id: event.event_id,
                index,
                kind: action.kind(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Names the fields of `action` whose enum symbol came from a newer schema
/// and is read as a default, for `offload_enum_defaults_total`.
pub fn defaulted_enum_fields(action: &Action) -> Vec<&'static str> {
    match action {
        Action::CassandraWrite(write) if write.consistency == Some(Consistency::Unknown) => vec!["consistency"],
        Action::CassandraWrite(_) => Vec::new(),
        Action::ApnsPush(push) => apns::defaulted_enum_fields(push),
        Action::FcmPush(push) => fcm::defaulted_enum_fields(push),
    }
}
