//! Errors of the Cassandra executor, and the sorting of driver errors into
//! retryable and permanent ones.

use std::time::Duration;

use scylla::errors::{DbError, ExecutionError, NewSessionError, PrepareError, RequestAttemptError};

use offload_schemas::dml::DmlError;

/// The `statement` label of raw writes in `offload_unknown_outcomes_total`.
pub(crate) const RAW_DML_LABEL: &str = "raw_dml";

/// Errors of connecting to Cassandra and preparing the catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// No contact point accepted a connection.
    #[error("cannot connect to Cassandra at {contact_points}; check that it is running (`deploy/local/stack up` starts a local node) or set cassandra.contact_points (OFFLOAD_CASSANDRA__CONTACT_POINTS)")]
    Connect {
        /// The configured contact points.
        contact_points: String,
        /// The driver's error.
        #[source]
        source: Box<NewSessionError>,
    },
    /// Connecting took longer than `cassandra.connect_timeout_secs`.
    #[error("timed out after {timeout:?} connecting to Cassandra at {contact_points}; check that it is running (`deploy/local/stack up` starts a local node) or set cassandra.contact_points (OFFLOAD_CASSANDRA__CONTACT_POINTS)")]
    ConnectTimeout {
        /// The configured contact points.
        contact_points: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// A catalog statement was rejected by Cassandra.
    #[error("statement `{statement}` of the catalog is invalid")]
    Prepare {
        /// Name of the statement.
        statement: String,
        /// Cassandra's error.
        source: Box<PrepareError>,
    },
}

/// Failure of one Cassandra write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassandraError {
    /// The event names a statement the catalog does not have.
    #[error("statement `{statement}` is not in the worker's catalog; add it under [statements.{statement}] or fix the producer")]
    UnknownStatement {
        /// The name in the event.
        statement: String,
    },
    /// The event gives more or fewer values than the statement has markers.
    #[error("statement `{statement}` takes {expected} values, the event gives {actual}")]
    ValueCount {
        /// Name of the statement.
        statement: String,
        /// Number of value markers.
        expected: usize,
        /// Number of values in the event.
        actual: usize,
    },
    /// A value does not fit its column's type.
    #[error(
        "statement `{statement}`: value {index} ({value_type}) does not fit column `{column}` of type {column_type}"
    )]
    ValueType {
        /// Name of the statement.
        statement: String,
        /// Position of the value in the event.
        index: usize,
        /// Name of the bind marker's column.
        column: String,
        /// The event value's type.
        value_type: &'static str,
        /// The column's CQL type.
        column_type: String,
    },
    /// The event sets a TTL, but the statement has no `USING TTL ?` marker.
    #[error("statement `{statement}` has no `USING TTL ?` marker, so the event's ttl_secs cannot apply")]
    NoTtlMarker {
        /// Name of the statement.
        statement: String,
    },
    /// Cassandra rejected the request; the same request will fail again.
    #[error("Cassandra rejected statement `{statement}`")]
    Rejected {
        /// Name of the statement.
        statement: String,
        /// The driver's error.
        source: Box<ExecutionError>,
    },
    /// A non-idempotent write (a counter update) timed out, so Cassandra may
    /// or may not have applied it.
    #[error("statement `{statement}` is not idempotent and timed out; it may or may not have been applied")]
    UnknownOutcome {
        /// Name of the statement, or the label of a raw write.
        statement: String,
        /// Whether the write carried raw CQL.
        raw: bool,
        /// The driver's error.
        source: Box<ExecutionError>,
    },
    /// The event carries raw CQL that is not a single DML statement. It is
    /// rejected whether or not raw DML is allowed.
    #[error("write `{statement}` carries CQL that is not allowed")]
    NotDml {
        /// The write's statement name, a label for raw CQL.
        statement: String,
        /// The check's finding.
        source: DmlError,
    },
    /// The event carries raw CQL, and this worker does not run raw DML.
    #[error("write `{statement}` carries raw CQL, but this worker runs only catalog statements; set cassandra.allow_raw_dml = true (OFFLOAD_CASSANDRA__ALLOW_RAW_DML=true) to run raw INSERT, UPDATE, DELETE and BATCH statements, or name a catalog statement in the event")]
    RawDmlDisabled {
        /// The write's statement name, a label for raw CQL.
        statement: String,
    },
    /// Preparing the event's raw CQL failed.
    #[error("preparing the raw CQL of write `{statement}` failed")]
    RawPrepare {
        /// The write's statement name, a label for raw CQL.
        statement: String,
        /// The driver's error.
        source: Box<PrepareError>,
    },
    /// The request may succeed later: timeouts, unavailable or overloaded nodes, lost connections.
    #[error("statement `{statement}` failed for now")]
    Unavailable {
        /// Name of the statement.
        statement: String,
        /// The driver's error.
        source: Box<ExecutionError>,
    },
}

impl CassandraError {
    /// Returns whether the write may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            CassandraError::Unavailable { .. } | CassandraError::UnknownOutcome { .. } => true,
            CassandraError::RawPrepare { source, .. } => !is_rejected_statement(source),
            _ => false,
        }
    }

    /// Returns whether a stale prepared statement may explain the failure.
    pub(super) fn may_be_stale_statement(&self) -> bool {
        match self {
            CassandraError::ValueType { .. } => true,
            CassandraError::Rejected { source, .. } => matches!(
                source.as_ref(),
                ExecutionError::LastAttemptError(
                    RequestAttemptError::DbError(DbError::Invalid, _)
                        | RequestAttemptError::SerializationError(_)
                        | RequestAttemptError::CqlRequestSerialization(_)
                )
            ),
            _ => false,
        }
    }

    /// Returns the metric label of a write that timed out with an unknown
    /// outcome: its catalog statement's name, or [`RAW_DML_LABEL`] for raw CQL.
    pub fn unknown_outcome_statement(&self) -> Option<&str> {
        match self {
            // A raw write's label is the producer's choice, so it never
            // becomes a metric label.
            CassandraError::UnknownOutcome { raw: true, .. } => Some(RAW_DML_LABEL),
            CassandraError::UnknownOutcome { statement, .. } => Some(statement),
            _ => None,
        }
    }

    /// Short class for headers, logs and metric labels.
    pub fn class(&self) -> &'static str {
        match self {
            CassandraError::UnknownStatement { .. } => "unknown_statement",
            CassandraError::ValueCount { .. } | CassandraError::ValueType { .. } => "wrong_value",
            CassandraError::NoTtlMarker { .. } => "wrong_value",
            CassandraError::Rejected { .. } => "invalid_request",
            CassandraError::NotDml { .. } => "not_dml",
            CassandraError::RawDmlDisabled { .. } => "raw_dml_disabled",
            CassandraError::RawPrepare { source, .. } if is_rejected_statement(source) => "invalid_request",
            CassandraError::RawPrepare { .. } => "unavailable",
            CassandraError::UnknownOutcome { .. } => "unknown_outcome",
            CassandraError::Unavailable { .. } => "unavailable",
        }
    }
}

/// Returns whether Cassandra rejected the statement text itself (syntax,
/// unknown table or column, missing permission), so preparing it again fails
/// again.
fn is_rejected_statement(error: &PrepareError) -> bool {
    matches!(
        error,
        PrepareError::AllAttemptsFailed {
            first_attempt: RequestAttemptError::DbError(
                DbError::SyntaxError
                    | DbError::Invalid
                    | DbError::Unauthorized
                    | DbError::AlreadyExists { .. }
                    | DbError::ConfigError,
                _
            )
        }
    )
}

/// Returns whether the write timed out after it may have reached a replica.
pub(super) fn is_write_timeout(error: &ExecutionError) -> bool {
    matches!(
        error,
        ExecutionError::RequestTimeout(_)
            | ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::WriteTimeout { .. }, _))
    )
}

/// Sorts driver errors into those a retry may fix and those it cannot.
pub(super) fn is_retryable(error: &ExecutionError) -> bool {
    match error {
        ExecutionError::LastAttemptError(attempt) => match attempt {
            RequestAttemptError::DbError(db_error, _) => matches!(
                db_error,
                DbError::Unavailable { .. }
                    | DbError::Overloaded
                    | DbError::IsBootstrapping
                    | DbError::ReadTimeout { .. }
                    | DbError::WriteTimeout { .. }
                    | DbError::ReadFailure { .. }
                    | DbError::WriteFailure { .. }
                    | DbError::TruncateError
                    | DbError::ServerError
                    | DbError::RateLimitReached { .. }
                    | DbError::Other(_)
            ),
            RequestAttemptError::SerializationError(_) | RequestAttemptError::CqlRequestSerialization(_) => false,
            _ => true,
        },
        ExecutionError::BadQuery(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed_out(statement: &str, raw: bool) -> CassandraError {
        CassandraError::UnknownOutcome {
            statement: statement.to_string(),
            raw,
            source: Box::new(ExecutionError::RequestTimeout(Duration::from_secs(2))),
        }
    }

    #[test]
    fn unknown_outcome_label_hides_raw_labels() {
        assert_eq!(
            timed_out("bump_likes", false).unknown_outcome_statement(),
            Some("bump_likes")
        );
        assert_eq!(
            timed_out("label-chosen-by-a-producer", true).unknown_outcome_statement(),
            Some(RAW_DML_LABEL)
        );
        assert!(
            timed_out("label-chosen-by-a-producer", true)
                .to_string()
                .contains("label-chosen-by-a-producer"),
            "the error message keeps the producer's label"
        );
    }
}
