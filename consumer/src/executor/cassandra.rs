//! The Cassandra executor: a catalog of prepared statements, executed with
//! the event's bound values.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use offload_schemas::{CassandraWrite, Consistency, DispatchEvent};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, NewSessionError, PrepareError, RequestAttemptError};
use scylla::frame::types::{Consistency as DriverConsistency, SerialConsistency};
use scylla::statement::prepared::PreparedStatement;
use tracing::{info, warn};

use super::bind::{bind, BoundValue};
use crate::config::{CassandraConfig, StatementConfig};

/// Name the driver gives the bind marker of `USING TTL ?`.
const TTL_MARKER: &str = "[ttl]";

/// Name the driver gives the bind marker of `USING TIMESTAMP ?`.
const TIMESTAMP_MARKER: &str = "[timestamp]";

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
        /// Name of the statement.
        statement: String,
        /// The driver's error.
        source: Box<ExecutionError>,
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
        matches!(
            self,
            CassandraError::Unavailable { .. } | CassandraError::UnknownOutcome { .. }
        )
    }

    /// Returns whether a stale prepared statement may explain the failure.
    fn may_be_stale_statement(&self) -> bool {
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

    /// Returns the statement name if the write timed out with an unknown outcome.
    pub fn unknown_outcome_statement(&self) -> Option<&str> {
        match self {
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
            CassandraError::UnknownOutcome { .. } => "unknown_outcome",
            CassandraError::Unavailable { .. } => "unavailable",
        }
    }
}

/// A prepared catalog statement.
struct CatalogEntry {
    config: StatementConfig,
    prepared: PreparedStatement,
    idempotent: bool,
    use_event_timestamp: bool,
    /// Positions of the markers bound from the event's values.
    value_markers: Vec<usize>,
    ttl_marker: Option<usize>,
    timestamp_marker: Option<usize>,
}

/// Executes catalog statements against one Cassandra cluster.
pub struct CassandraExecutor {
    session: Session,
    /// Prepared statements by name; an entry is replaced when a schema
    /// change made its bind marker types stale.
    catalog: RwLock<HashMap<String, Arc<CatalogEntry>>>,
}

impl CassandraExecutor {
    /// Connects to the cluster and prepares every statement of the catalog.
    pub async fn connect(
        config: &CassandraConfig,
        statements: &std::collections::BTreeMap<String, StatementConfig>,
    ) -> Result<CassandraExecutor, StartError> {
        let session = connect(config).await?;

        let mut catalog = HashMap::with_capacity(statements.len());
        for (name, statement) in statements {
            let entry = prepare(&session, name, statement).await?;
            catalog.insert(name.clone(), Arc::new(entry));
        }
        info!(statements = catalog.len(), "prepared the statement catalog");

        Ok(CassandraExecutor {
            session,
            catalog: RwLock::new(catalog),
        })
    }

    /// Executes one write of `event`. When the write fails in a way a stale
    /// prepared statement explains (a value that no longer fits its column,
    /// or Cassandra rejecting the bound values), the statement is prepared
    /// again once and, if its marker types changed, the write is retried.
    pub async fn execute(&self, event: &DispatchEvent, write: &CassandraWrite) -> Result<(), CassandraError> {
        let entry = self
            .catalog
            .read()
            .expect("catalog lock poisoned")
            .get(&write.statement)
            .cloned()
            .ok_or_else(|| CassandraError::UnknownStatement {
                statement: write.statement.clone(),
            })?;

        let error = match self.execute_with(&entry, event, write).await {
            Err(error) if error.may_be_stale_statement() => error,
            result => return result,
        };
        match self.reprepare_if_changed(&write.statement, &entry).await {
            Some(fresh) => {
                info!(statement = %write.statement, "prepared the statement again after a schema change and retrying");
                self.execute_with(&fresh, event, write).await
            }
            None => Err(error),
        }
    }

    /// Prepares `name` again and stores it if its bind marker types differ
    /// from `stale`'s. Returns the new entry when it changed.
    async fn reprepare_if_changed(&self, name: &str, stale: &CatalogEntry) -> Option<Arc<CatalogEntry>> {
        let fresh = match prepare(&self.session, name, &stale.config).await {
            Ok(fresh) => fresh,
            Err(error) => {
                warn!(statement = name, error = %error, "preparing the statement again failed");
                return None;
            }
        };
        if marker_types(&fresh.prepared) == marker_types(&stale.prepared) {
            return None;
        }
        let fresh = Arc::new(fresh);
        self.catalog
            .write()
            .expect("catalog lock poisoned")
            .insert(name.to_string(), Arc::clone(&fresh));
        Some(fresh)
    }

    async fn execute_with(
        &self,
        entry: &CatalogEntry,
        event: &DispatchEvent,
        write: &CassandraWrite,
    ) -> Result<(), CassandraError> {
        let values = bind_values(entry, event, write)?;

        let mut statement = entry.prepared.clone();
        if entry.timestamp_marker.is_none() {
            statement.set_timestamp(write_timestamp(entry, event, write));
        }
        if let Some(consistency) = write.consistency.and_then(driver_consistency) {
            statement.set_consistency(consistency);
        }

        match self.session.execute_unpaged(&statement, values).await {
            Ok(_) => Ok(()),
            Err(source) if !entry.idempotent && is_write_timeout(&source) => Err(CassandraError::UnknownOutcome {
                statement: write.statement.clone(),
                source: Box::new(source),
            }),
            Err(source) if is_retryable(&source) => Err(CassandraError::Unavailable {
                statement: write.statement.clone(),
                source: Box::new(source),
            }),
            Err(source) => Err(CassandraError::Rejected {
                statement: write.statement.clone(),
                source: Box::new(source),
            }),
        }
    }
}

async fn connect(config: &CassandraConfig) -> Result<Session, StartError> {
    let contact_points = config.contact_points.join(",");
    let timeout = Duration::from_secs(config.connect_timeout_secs);
    let profile = ExecutionProfile::builder()
        .request_timeout(Some(Duration::from_secs(config.request_timeout_secs)))
        .build();

    let builder = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(timeout)
        .default_execution_profile_handle(profile.into_handle());

    match tokio::time::timeout(timeout, builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(source)) => Err(StartError::Connect {
            contact_points,
            source: Box::new(source),
        }),
        Err(_elapsed) => Err(StartError::ConnectTimeout {
            contact_points,
            timeout,
        }),
    }
}

async fn prepare(session: &Session, name: &str, config: &StatementConfig) -> Result<CatalogEntry, StartError> {
    let mut prepared = session
        .prepare(config.cql.as_str())
        .await
        .map_err(|source| StartError::Prepare {
            statement: name.to_string(),
            source: Box::new(source),
        })?;

    let level = Consistency::from_symbol(&config.consistency).and_then(driver_consistency);
    if let Some(level) = level {
        prepared.set_consistency(level);
    }
    prepared.set_is_idempotent(config.idempotent);
    if let Some(serial) = config.serial_consistency.as_deref() {
        let level = if serial.eq_ignore_ascii_case("LOCAL_SERIAL") {
            SerialConsistency::LocalSerial
        } else {
            SerialConsistency::Serial
        };
        prepared.set_serial_consistency(Some(level));
    }

    let mut value_markers = Vec::new();
    let mut ttl_marker = None;
    let mut timestamp_marker = None;
    for (position, spec) in prepared.get_variable_col_specs().iter().enumerate() {
        match spec.name() {
            TTL_MARKER => ttl_marker = Some(position),
            TIMESTAMP_MARKER => timestamp_marker = Some(position),
            _ => value_markers.push(position),
        }
    }

    Ok(CatalogEntry {
        config: config.clone(),
        prepared,
        idempotent: config.idempotent,
        use_event_timestamp: config.use_event_timestamp,
        value_markers,
        ttl_marker,
        timestamp_marker,
    })
}

fn bind_values(
    entry: &CatalogEntry,
    event: &DispatchEvent,
    write: &CassandraWrite,
) -> Result<Vec<BoundValue>, CassandraError> {
    if write.values.len() != entry.value_markers.len() {
        return Err(CassandraError::ValueCount {
            statement: write.statement.clone(),
            expected: entry.value_markers.len(),
            actual: write.values.len(),
        });
    }
    if write.ttl_secs.is_some() && entry.ttl_marker.is_none() {
        return Err(CassandraError::NoTtlMarker {
            statement: write.statement.clone(),
        });
    }

    let specs = entry.prepared.get_variable_col_specs();
    let mut bound: Vec<BoundValue> = vec![BoundValue::Unset; specs.len()];
    for (index, (value, &position)) in write.values.iter().zip(&entry.value_markers).enumerate() {
        let spec = specs
            .get_by_index(position)
            .expect("marker positions come from these specs");
        bound[position] = bind(value, spec.typ()).map_err(|mismatch| CassandraError::ValueType {
            statement: write.statement.clone(),
            index,
            column: spec.name().to_string(),
            value_type: mismatch.value_type,
            column_type: mismatch.column_type,
        })?;
    }
    if let Some(position) = entry.ttl_marker {
        bound[position] = match write.ttl_secs {
            Some(ttl) => BoundValue::Set(Some(scylla::value::CqlValue::Int(ttl))),
            None => BoundValue::Unset,
        };
    }
    if let Some(position) = entry.timestamp_marker {
        bound[position] = match write_timestamp(entry, event, write) {
            Some(timestamp) => BoundValue::Set(Some(scylla::value::CqlValue::BigInt(timestamp))),
            None => BoundValue::Unset,
        };
    }
    Ok(bound)
}

/// The bind markers' names and types, to tell whether a statement changed.
fn marker_types(prepared: &PreparedStatement) -> Vec<String> {
    prepared
        .get_variable_col_specs()
        .iter()
        .map(|spec| format!("{}:{:?}", spec.name(), spec.typ()))
        .collect()
}

/// Returns the write timestamp in microseconds: the event's own, else its
/// creation time, unless the statement opted out of event timestamps.
fn write_timestamp(entry: &CatalogEntry, event: &DispatchEvent, write: &CassandraWrite) -> Option<i64> {
    match write.timestamp_us {
        Some(timestamp) => Some(timestamp),
        None if entry.use_event_timestamp => Some(event.created_at_us),
        None => None,
    }
}

fn driver_consistency(level: Consistency) -> Option<DriverConsistency> {
    let driver = match level {
        Consistency::Unknown => return None,
        Consistency::Any => DriverConsistency::Any,
        Consistency::One => DriverConsistency::One,
        Consistency::Two => DriverConsistency::Two,
        Consistency::Three => DriverConsistency::Three,
        Consistency::Quorum => DriverConsistency::Quorum,
        Consistency::All => DriverConsistency::All,
        Consistency::LocalQuorum => DriverConsistency::LocalQuorum,
        Consistency::EachQuorum => DriverConsistency::EachQuorum,
        Consistency::LocalOne => DriverConsistency::LocalOne,
    };
    Some(driver)
}

/// Returns whether the write timed out after it may have reached a replica.
fn is_write_timeout(error: &ExecutionError) -> bool {
    matches!(
        error,
        ExecutionError::RequestTimeout(_)
            | ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::WriteTimeout { .. }, _))
    )
}

/// Sorts driver errors into those a retry may fix and those it cannot.
fn is_retryable(error: &ExecutionError) -> bool {
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
