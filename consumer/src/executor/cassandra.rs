//! The Cassandra executor: a catalog of prepared statements, and raw DML
//! statements where the operator allows them, executed with the event's
//! bound values.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use offload_schemas::{CassandraWrite, Consistency, DispatchEvent, SerialConsistency};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::PrepareError;
use scylla::frame::types::{Consistency as DriverConsistency, SerialConsistency as DriverSerialConsistency};
use scylla::statement::prepared::PreparedStatement;
use tracing::{info, warn};

use super::bind::{bind, BoundValue};

mod error;
mod raw;

use crate::config::{CassandraConfig, StatementConfig};
use error::{is_retryable, is_write_timeout};
pub use error::{CassandraError, StartError};
use raw::RawStatements;

/// Name the driver gives the bind marker of `USING TTL ?`.
const TTL_MARKER: &str = "[ttl]";

/// Name the driver gives the bind marker of `USING TIMESTAMP ?`.
const TIMESTAMP_MARKER: &str = "[timestamp]";

/// A prepared statement of the catalog or a raw one.
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

/// Executes catalog and raw statements against one Cassandra cluster.
pub struct CassandraExecutor {
    session: Session,
    /// Prepared statements by name; an entry is replaced when a schema
    /// change made its bind marker types stale.
    catalog: RwLock<HashMap<String, Arc<CatalogEntry>>>,
    /// Raw DML statements of events, by CQL text.
    raw: RawStatements,
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
            let entry = prepare(&session, statement)
                .await
                .map_err(|source| StartError::Prepare {
                    statement: name.clone(),
                    source: Box::new(source),
                })?;
            catalog.insert(name.clone(), Arc::new(entry));
        }
        info!(
            statements = catalog.len(),
            allow_raw_dml = config.allow_raw_dml,
            "prepared the statement catalog"
        );

        Ok(CassandraExecutor {
            session,
            catalog: RwLock::new(catalog),
            raw: RawStatements::new(config),
        })
    }

    /// Executes one write of `event`. When the write fails in a way a stale
    /// prepared statement explains (a value that no longer fits its column,
    /// or Cassandra rejecting the bound values), the statement is prepared
    /// again once and, if its marker types changed, the write is retried.
    ///
    /// A write with raw CQL runs that text instead of a catalog statement
    /// when it is DML and `cassandra.allow_raw_dml` is set. Its statement
    /// name is then only a label.
    pub async fn execute(&self, event: &DispatchEvent, write: &CassandraWrite) -> Result<(), CassandraError> {
        let entry = match &write.cql {
            None => self.catalog_entry(&write.statement)?,
            Some(cql) => self.raw_entry(&write.statement, cql).await?,
        };

        let error = match self.execute_with(&entry, event, write).await {
            Err(error) if error.may_be_stale_statement() => error,
            result => return result,
        };
        match self.reprepare_if_changed(&write.statement, &entry).await {
            Some(fresh) => {
                info!(statement = %write.statement, "prepared the statement again after a schema change and retrying");
                self.store(write, Arc::clone(&fresh));
                self.execute_with(&fresh, event, write).await
            }
            None => Err(error),
        }
    }

    fn catalog_entry(&self, name: &str) -> Result<Arc<CatalogEntry>, CassandraError> {
        self.catalog
            .read()
            .expect("catalog lock poisoned")
            .get(name)
            .cloned()
            .ok_or_else(|| CassandraError::UnknownStatement {
                statement: name.to_string(),
            })
    }

    /// Returns the prepared raw statement `cql`, preparing it on first use.
    async fn raw_entry(&self, label: &str, cql: &str) -> Result<Arc<CatalogEntry>, CassandraError> {
        self.raw.admit(label, cql)?;
        if let Some(entry) = self.raw.get(cql) {
            return Ok(entry);
        }
        let entry = prepare(&self.session, &self.raw.statement_config(cql))
            .await
            .map_err(|source| CassandraError::RawPrepare {
                statement: label.to_string(),
                source: Box::new(source),
            })?;
        let entry = Arc::new(entry);
        self.raw.insert(cql, Arc::clone(&entry));
        Ok(entry)
    }

    /// Replaces the cached entry of `write`'s statement.
    fn store(&self, write: &CassandraWrite, entry: Arc<CatalogEntry>) {
        match &write.cql {
            None => {
                self.catalog
                    .write()
                    .expect("catalog lock poisoned")
                    .insert(write.statement.clone(), entry);
            }
            Some(cql) => self.raw.insert(cql, entry),
        }
    }

    /// Prepares `stale`'s statement again. Returns the new entry if its
    /// bind marker types differ from `stale`'s.
    async fn reprepare_if_changed(&self, name: &str, stale: &CatalogEntry) -> Option<Arc<CatalogEntry>> {
        let fresh = match prepare(&self.session, &stale.config).await {
            Ok(fresh) => fresh,
            Err(error) => {
                warn!(statement = name, error = %error, "preparing the statement again failed");
                return None;
            }
        };
        if marker_types(&fresh.prepared) == marker_types(&stale.prepared) {
            return None;
        }
        Some(Arc::new(fresh))
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
        if let Some(serial) = write.serial_consistency.and_then(driver_serial_consistency) {
            statement.set_serial_consistency(Some(serial));
        }

        match Box::pin(self.session.execute_unpaged(&statement, values)).await {
            Ok(_) => Ok(()),
            Err(source) if !entry.idempotent && is_write_timeout(&source) => Err(CassandraError::UnknownOutcome {
                statement: write.statement.clone(),
                raw: write.cql.is_some(),
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

async fn prepare(session: &Session, config: &StatementConfig) -> Result<CatalogEntry, PrepareError> {
    let mut prepared = session.prepare(config.cql.as_str()).await?;

    let level = Consistency::from_symbol(&config.consistency).and_then(driver_consistency);
    if let Some(level) = level {
        prepared.set_consistency(level);
    }
    prepared.set_is_idempotent(config.idempotent);
    let serial = config.serial_consistency.as_deref();
    if let Some(level) = serial
        .and_then(SerialConsistency::from_symbol)
        .and_then(driver_serial_consistency)
    {
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

fn driver_serial_consistency(level: SerialConsistency) -> Option<DriverSerialConsistency> {
    match level {
        SerialConsistency::Unknown => None,
        SerialConsistency::Serial => Some(DriverSerialConsistency::Serial),
        SerialConsistency::LocalSerial => Some(DriverSerialConsistency::LocalSerial),
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
