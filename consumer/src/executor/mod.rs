//! Execution of an event's actions, and the classification of failures that
//! decides between retrying and dead-lettering.

mod bind;
pub mod cassandra;

use offload_schemas::{Action, DispatchEvent};

pub use cassandra::{CassandraError, CassandraExecutor};

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
}

/// The cause of one action's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// The Cassandra write failed.
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    /// The action is a push, and this worker has no push executors.
    #[error("{kind} actions cannot run: push executors are not configured in this worker")]
    PushNotConfigured {
        /// The action's kind.
        kind: &'static str,
    },
}

impl ExecuteError {
    /// Whether the same action may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ExecuteError::Cassandra(error) => error.is_retryable(),
            ExecuteError::PushNotConfigured { .. } => false,
        }
    }

    /// Returns the statement name if a non-idempotent write timed out with
    /// an unknown outcome.
    pub fn unknown_outcome_statement(&self) -> Option<&str> {
        match self {
            ExecuteError::Cassandra(error) => error.unknown_outcome_statement(),
            ExecuteError::PushNotConfigured { .. } => None,
        }
    }

    /// Short class of the failure for headers, logs and metric labels.
    pub fn class(&self) -> &'static str {
        match self {
            ExecuteError::Cassandra(error) => error.class(),
            ExecuteError::PushNotConfigured { .. } => "push_not_configured",
        }
    }
}

/// Runs the actions of events against their targets.
pub struct Executor {
    cassandra: CassandraExecutor,
}

impl Executor {
    /// Creates an executor over the given targets.
    pub fn new(cassandra: CassandraExecutor) -> Executor {
        Executor { cassandra }
    }

    /// Executes the actions of `event` in order, starting at `first` so that a
    /// retry does not repeat the actions that already succeeded.
    pub async fn execute_from(&self, event: &DispatchEvent, first: usize) -> Result<(), ActionError> {
        for (index, action) in event.actions.iter().enumerate().skip(first) {
            let result = match action {
                Action::CassandraWrite(write) => self.cassandra.execute(event, write).await.map_err(ExecuteError::from),
                // NOTE: push actions are dead-lettered as permanent failures
                // until the worker gets APNs and FCM executors.
                Action::ApnsPush(_) | Action::FcmPush(_) => {
                    Err(ExecuteError::PushNotConfigured { kind: action.kind() })
                }
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
