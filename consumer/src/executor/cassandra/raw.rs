//! Raw DML statements: CQL text carried by an event instead of a catalog
//! name. They run only where `cassandra.allow_raw_dml` is set, must pass
//! [`check_dml`], and are prepared once and kept in a cache bounded by
//! `cassandra.raw_dml_cache_size` entries.
//!
//! A raw write's statement name is a label the producer chooses. It appears
//! in logs and dead letters, but metrics count raw writes under
//! `statement="raw_dml"`, so producers cannot grow a label set.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::CatalogEntry;
use crate::config::{CassandraConfig, StatementConfig};
use offload_schemas::dml::check_dml;

use super::error::CassandraError;

/// The raw DML settings and the prepared statements, keyed by CQL text.
pub(super) struct RawStatements {
    allowed: bool,
    consistency: String,
    prepared: Mutex<LruCache<String, Arc<CatalogEntry>>>,
}

impl RawStatements {
    pub(super) fn new(config: &CassandraConfig) -> RawStatements {
        // The configuration check keeps the size above 0; 1 is only a fallback.
        let capacity = NonZeroUsize::new(config.raw_dml_cache_size).unwrap_or(NonZeroUsize::MIN);
        RawStatements {
            allowed: config.allow_raw_dml,
            consistency: config.raw_dml_consistency.clone(),
            prepared: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Checks that `cql` may run here: it must be DML, whatever the switch,
    /// and the switch must be on. `label` names the write in errors.
    pub(super) fn admit(&self, label: &str, cql: &str) -> Result<(), CassandraError> {
        check_dml(cql).map_err(|source| CassandraError::NotDml {
            statement: label.to_string(),
            source,
        })?;
        if !self.allowed {
            return Err(CassandraError::RawDmlDisabled {
                statement: label.to_string(),
            });
        }
        Ok(())
    }

    /// Returns the prepared entry of `cql` if it is cached.
    pub(super) fn get(&self, cql: &str) -> Option<Arc<CatalogEntry>> {
        self.lock().get(cql).cloned()
    }

    /// Caches `entry` under `cql`, evicting the least recently used entry when full.
    pub(super) fn insert(&self, cql: &str, entry: Arc<CatalogEntry>) {
        self.lock().put(cql.to_string(), entry);
    }

    /// Returns the settings a raw statement runs with: the configured
    /// consistency, and not idempotent, because the worker cannot tell a
    /// counter update from other writes without the table's schema.
    pub(super) fn statement_config(&self, cql: &str) -> StatementConfig {
        StatementConfig {
            cql: cql.to_string(),
            consistency: self.consistency.clone(),
            serial_consistency: None,
            idempotent: false,
            use_event_timestamp: true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<CatalogEntry>>> {
        self.prepared
            .lock()
            .expect("no thread panics while holding the raw statement cache lock")
    }
}
