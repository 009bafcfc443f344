//! A client of a Confluent-compatible schema registry: registers the writer
//! schema under a subject and fetches writer schemas by id, caching both.
//!
//! The REST calls go through the `schema_registry_converter` crate (its
//! registry module only). Its Avro encoder and decoder are not used: they
//! require apache-avro 0.22 while this workspace is on 0.21, and they decode
//! with the writer schema alone, whereas offload resolves the writer schema
//! against its reader schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apache_avro::Schema;
use schema_registry_converter::async_impl::schema_registry::{get_schema_by_id, post_schema, SrSettings};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};

/// Errors of registry calls.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry URL or client settings are invalid.
    #[error("invalid schema registry settings for {url}")]
    Settings {
        /// The configured URL.
        url: String,
        /// The client's error.
        #[source]
        source: SRCError,
    },
    /// Registering the schema under the subject failed.
    #[error("registering the schema under subject `{subject}` failed")]
    Register {
        /// The subject, `<topic>-value`.
        subject: String,
        /// The client's error.
        #[source]
        source: SRCError,
    },
    /// Fetching the schema with this id failed.
    #[error("fetching schema id {schema_id} failed")]
    Fetch {
        /// The id.
        schema_id: u32,
        /// The client's error.
        #[source]
        source: SRCError,
    },
    /// The registry returned a schema that is not valid Avro.
    #[error("schema id {schema_id} from the registry is not a valid Avro schema")]
    InvalidSchema {
        /// The id.
        schema_id: u32,
        /// Avro's parse error.
        #[source]
        source: Box<apache_avro::Error>,
    },
}

impl RegistryError {
    /// Returns whether the call may succeed later: the registry was unreachable or returned 502 or 503.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Register { source, .. } | RegistryError::Fetch { source, .. } => source.retriable,
            RegistryError::Settings { .. } | RegistryError::InvalidSchema { .. } => false,
        }
    }
}

/// Returns the subject of a topic's record values under the registry's
/// default TopicNameStrategy: `<topic>-value`.
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// A schema registry client with caches of registered and fetched schemas.
#[derive(Debug)]
pub struct SchemaRegistry {
    url: String,
    settings: SrSettings,
    registered: Mutex<HashMap<(String, String), u32>>,
    fetched: Mutex<HashMap<u32, Arc<Schema>>>,
}

impl SchemaRegistry {
    /// Creates a client of the registry at `url` whose calls time out after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<SchemaRegistry, RegistryError> {
        SchemaRegistry::with_basic_auth(url, timeout, None)
    }

    /// Creates a client of the registry at `url` whose calls time out after
    /// `timeout` and, when `credentials` (user name and optional password)
    /// are given, carry HTTP basic authentication.
    pub fn with_basic_auth(
        url: &str,
        timeout: Duration,
        credentials: Option<(&str, Option<&str>)>,
    ) -> Result<SchemaRegistry, RegistryError> {
        let mut builder = SrSettings::new_builder(url.to_string());
        builder.set_timeout(timeout);
        if let Some((username, password)) = credentials {
            builder.set_basic_authorization(username, password);
        }
        let settings = builder.build().map_err(|source| RegistryError::Settings {
            url: url.to_string(),
            source,
        })?;

        Ok(SchemaRegistry {
            url: url.to_string(),
            settings,
            registered: Mutex::default(),
            fetched: Mutex::default(),
        })
    }

    /// Returns the registry's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Registers the Avro schema `schema_json` under `subject` and returns
    /// its id. The registry returns the existing id when the schema is
    /// already registered; this client asks once per subject and schema.
    pub async fn register(&self, subject: &str, schema_json: &str) -> Result<u32, RegistryError> {
        let key = (subject.to_string(), schema_json.to_string());
        if let Some(&id) = self.lock_registered().get(&key) {
            return Ok(id);
        }

        let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema_json.to_string());
        let registered = post_schema(&self.settings, subject.to_string(), supplied)
            .await
            .map_err(|source| RegistryError::Register {
                subject: subject.to_string(),
                source,
            })?;

        self.lock_registered().insert(key, registered.id);
        Ok(registered.id)
    }

    /// Returns the schema with `schema_id`, from the cache or the registry.
    pub async fn schema(&self, schema_id: u32) -> Result<Arc<Schema>, RegistryError> {
        if let Some(schema) = self.lock_fetched().get(&schema_id) {
            return Ok(Arc::clone(schema));
        }

        let registered = get_schema_by_id(schema_id, &self.settings)
            .await
            .map_err(|source| RegistryError::Fetch { schema_id, source })?;
        let schema = Schema::parse_str(&registered.schema).map_err(|source| RegistryError::InvalidSchema {
            schema_id,
            source: Box::new(source),
        })?;

        let schema = Arc::new(schema);
        self.lock_fetched().insert(schema_id, Arc::clone(&schema));
        Ok(schema)
    }

    fn lock_registered(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u32>> {
        self.registered
            .lock()
            .expect("no thread panics while holding the registry cache lock")
    }

    fn lock_fetched(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Schema>>> {
        self.fetched
            .lock()
            .expect("no thread panics while holding the registry cache lock")
    }
}

#[cfg(test)]
mod tests;
