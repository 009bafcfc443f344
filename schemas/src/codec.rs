//! Encoding and decoding of [`DispatchEvent`] records.
//!
//! Two framings of the Avro binary datum are supported:
//!
//! - Avro single-object encoding (Avro 1.11 specification, "Single-object
//!   encoding"): the marker bytes `C3 01`, the 8-byte little-endian
//!   CRC-64-AVRO (Rabin) fingerprint of the writer schema's canonical form,
//!   then the datum. Used when no schema registry is configured.
//! - The Confluent wire format: a zero magic byte, the 4-byte big-endian
//!   schema id that a schema registry assigned, then the datum.
//!
//! The decoder accepts both. It finds the writer schema by fingerprint among
//! the versions this build ships (`avro/` and `avro/history/`), or by schema
//! id among the ids added to it, and resolves it against the current
//! reader schema. [`Codec::decode_with_registry`] also fetches unknown ids
//! from a registry.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, RwLock};

use apache_avro::rabin::Rabin;
use apache_avro::Schema;

use crate::binary;
use crate::model::DispatchEvent;
use crate::registry::{RegistryError, SchemaRegistry};
use crate::value::event_from_value;
use crate::{DISPATCH_EVENT_HISTORY, DISPATCH_EVENT_SCHEMA};

/// Marker that opens every single-object encoded record.
const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];

/// Length of the single-object header: marker plus fingerprint.
const SINGLE_OBJECT_HEADER_LEN: usize = 10;

/// Magic byte of the Confluent Schema Registry wire format.
const CONFLUENT_MAGIC: u8 = 0;

/// Length of the Confluent header: magic byte plus schema id.
const CONFLUENT_HEADER_LEN: usize = 5;

/// The framing of a record's Avro datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// Avro single-object encoding: `C3 01` and the schema fingerprint.
    SingleObject,
    /// Confluent wire format: `00` and the registry's schema id.
    Confluent {
        /// The id the registry assigned to the writer schema.
        schema_id: u32,
    },
}

/// Errors of [`Codec::encode`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A collection contains a value that cannot be an element.
    #[error("event {event_id}: a collection contains a {value_type}; elements must be scalars (no null, unset, counter delta or nested collection)")]
    NotAnElement {
        /// Id of the event.
        event_id: uuid::Uuid,
        /// Type of the offending element.
        value_type: &'static str,
    },
}

/// Errors of decoding a record. Every variant but
/// [`DecodeError::Registry`] is permanent: the same bytes never decode on a
/// retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record is shorter than its header.
    #[error("record of {len} bytes is too short for an Avro header")]
    Truncated {
        /// Length of the record in bytes.
        len: usize,
    },
    /// The record starts with neither the single-object marker nor the Confluent magic byte.
    #[error("record starts with {first:#04x}, which is neither Avro single-object encoding (C3 01) nor the Confluent wire format (00)")]
    UnknownFormat {
        /// The first byte of the record.
        first: u8,
    },
    /// The writer schema's fingerprint is not one of the known schema versions.
    #[error("unknown writer schema fingerprint {fingerprint}: the record was written with a schema this build does not ship; upgrade the reader")]
    UnknownFingerprint {
        /// The fingerprint as hex.
        fingerprint: String,
    },
    /// The record uses the Confluent wire format, but no schema registry is configured.
    #[error("record uses the Confluent wire format with schema id {schema_id}, but no schema registry is configured")]
    RegistryNotConfigured {
        /// The schema id in the record.
        schema_id: u32,
    },
    /// The registry could not supply the writer schema of a Confluent record.
    #[error("fetching writer schema {schema_id} from the schema registry failed")]
    Registry {
        /// The schema id in the record.
        schema_id: u32,
        /// The registry client's error.
        #[source]
        source: RegistryError,
    },
    /// The datum does not decode with the writer schema or does not resolve to the reader schema.
    #[error("Avro datum is invalid")]
    Datum(#[source] Box<apache_avro::Error>),
    /// The datum decoded but a field has a value the model does not accept.
    #[error("field `{field}` is invalid: {reason}")]
    Invalid {
        /// Name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl DecodeError {
    /// Returns whether decoding the same record may succeed later: only a
    /// registry that could not be reached.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DecodeError::Registry { source, .. } if source.is_retryable())
    }
}

/// Encodes events with the current schema and decodes records written with
/// any known schema version.
#[derive(Debug, Clone)]
pub struct Codec {
    schema: Arc<Schema>,
    fingerprint: [u8; 8],
    header: Vec<u8>,
    by_fingerprint: HashMap<[u8; 8], Arc<Schema>>,
    by_schema_id: Arc<RwLock<HashMap<u32, Arc<Schema>>>>,
}

impl Codec {
    /// Creates a codec for the current `DispatchEvent` schema that writes
    /// single-object encoding and reads every shipped schema version.
    pub fn new() -> Codec {
        let schema = Schema::parse_str(DISPATCH_EVENT_SCHEMA).expect("the bundled DispatchEvent schema is valid Avro");
        let history = DISPATCH_EVENT_HISTORY
            .iter()
            .map(|text| Schema::parse_str(text).expect("the bundled historical schemas are valid Avro"))
            .collect();
        Codec::with_schemas(schema, history)
    }

    /// Creates a codec that writes and reads with `schema` and also accepts
    /// records written with any of `older` (resolved against `schema`).
    pub fn with_schemas(schema: Schema, older: Vec<Schema>) -> Codec {
        let fingerprint = fingerprint(&schema);
        let schema = Arc::new(schema);

        let mut by_fingerprint: HashMap<[u8; 8], Arc<Schema>> = older
            .into_iter()
            .map(|writer| (self::fingerprint(&writer), Arc::new(writer)))
            .collect();
        by_fingerprint.insert(fingerprint, Arc::clone(&schema));

        let mut header = Vec::with_capacity(SINGLE_OBJECT_HEADER_LEN);
        header.extend_from_slice(&SINGLE_OBJECT_MARKER);
        header.extend_from_slice(&fingerprint);

        Codec {
            schema,
            fingerprint,
            header,
            by_fingerprint,
            by_schema_id: Arc::default(),
        }
    }

    /// Returns this codec also accepting records written with `writers`,
    /// for example a newer schema version rolled out to producers first.
    pub fn accepting(mut self, writers: Vec<Schema>) -> Codec {
        for writer in writers {
            self.by_fingerprint
                .entry(fingerprint(&writer))
                .or_insert_with(|| Arc::new(writer));
        }
        self
    }

    /// Returns this codec writing `format`. For the Confluent format, the
    /// schema id must be the registry's id of [`Codec::schema`], which
    /// [`SchemaRegistry::register`] returns; the codec also reads that id.
    pub fn with_wire_format(mut self, format: WireFormat) -> Codec {
        self.header.clear();
        match format {
            WireFormat::SingleObject => {
                self.header.extend_from_slice(&SINGLE_OBJECT_MARKER);
                self.header.extend_from_slice(&self.fingerprint);
            }
            WireFormat::Confluent { schema_id } => {
                self.header.push(CONFLUENT_MAGIC);
                self.header.extend_from_slice(&schema_id.to_be_bytes());
                self.add_schema_id(schema_id, Arc::clone(&self.schema));
            }
        }
        self
    }

    /// Returns the format that [`Codec::encode`] writes.
    pub fn wire_format(&self) -> WireFormat {
        match self.header.first() {
            Some(&CONFLUENT_MAGIC) => WireFormat::Confluent {
                schema_id: u32::from_be_bytes(self.header[1..CONFLUENT_HEADER_LEN].try_into().expect("4 bytes")),
            },
            _ => WireFormat::SingleObject,
        }
    }

    /// Returns the reader and writer schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Makes Confluent records with `schema_id` decodable without a registry
    /// round trip. Clones of this codec share what they learned.
    pub fn add_schema_id(&self, schema_id: u32, writer: Arc<Schema>) {
        self.by_schema_id
            .write()
            .expect("no thread panics while holding the schema-id lock")
            .insert(schema_id, writer);
    }

    /// Encodes `event` in the codec's wire format.
    pub fn encode(&self, event: &DispatchEvent) -> Result<Vec<u8>, EncodeError> {
        let mut record = Vec::with_capacity(256);
        self.encode_into(event, &mut record)?;
        Ok(record)
    }

    /// Appends the encoded `event` to `record`, so callers can reuse a buffer.
    pub fn encode_into(&self, event: &DispatchEvent, record: &mut Vec<u8>) -> Result<(), EncodeError> {
        record.extend_from_slice(&self.header);
        binary::write_event(record, event).map_err(|element| EncodeError::NotAnElement {
            event_id: event.event_id,
            value_type: element.value_type,
        })
    }

    /// Decodes a record into the current model. Confluent records decode
    /// only when their schema id is known (see [`Codec::add_schema_id`]).
    pub fn decode(&self, record: &[u8]) -> Result<DispatchEvent, DecodeError> {
        match self.framing(record)? {
            Framing::Known { writer, datum } => self.decode_datum(&writer, datum),
            Framing::UnknownSchemaId { schema_id } => Err(DecodeError::RegistryNotConfigured { schema_id }),
        }
    }

    /// Decodes a record, fetching the writer schema of a Confluent record
    /// from `registry` when its id is new to this codec.
    pub async fn decode_with_registry(
        &self,
        record: &[u8],
        registry: &SchemaRegistry,
    ) -> Result<DispatchEvent, DecodeError> {
        match self.framing(record)? {
            Framing::Known { writer, datum } => self.decode_datum(&writer, datum),
            Framing::UnknownSchemaId { schema_id } => {
                let writer = registry
                    .schema(schema_id)
                    .await
                    .map_err(|source| DecodeError::Registry { schema_id, source })?;
                self.add_schema_id(schema_id, Arc::clone(&writer));
                self.decode_datum(&writer, &record[CONFLUENT_HEADER_LEN..])
            }
        }
    }

    fn framing<'r>(&self, record: &'r [u8]) -> Result<Framing<'r>, DecodeError> {
        let Some(&first) = record.first() else {
            return Err(DecodeError::Truncated { len: 0 });
        };

        if first == CONFLUENT_MAGIC {
            let id_bytes: [u8; 4] = record
                .get(1..CONFLUENT_HEADER_LEN)
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(DecodeError::Truncated { len: record.len() })?;
            let schema_id = u32::from_be_bytes(id_bytes);
            let known = self
                .by_schema_id
                .read()
                .expect("no thread panics while holding the schema-id lock")
                .get(&schema_id)
                .cloned();
            return Ok(match known {
                Some(writer) => Framing::Known {
                    writer,
                    datum: &record[CONFLUENT_HEADER_LEN..],
                },
                None => Framing::UnknownSchemaId { schema_id },
            });
        }

        if !record.starts_with(&SINGLE_OBJECT_MARKER) {
            return Err(DecodeError::UnknownFormat { first });
        }
        let fingerprint: [u8; 8] = record
            .get(2..SINGLE_OBJECT_HEADER_LEN)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(DecodeError::Truncated { len: record.len() })?;
        let writer = self
            .by_fingerprint
            .get(&fingerprint)
            .ok_or_else(|| DecodeError::UnknownFingerprint {
                fingerprint: hex(&fingerprint),
            })?;
        Ok(Framing::Known {
            writer: Arc::clone(writer),
            datum: &record[SINGLE_OBJECT_HEADER_LEN..],
        })
    }

    fn decode_datum(&self, writer: &Arc<Schema>, datum: &[u8]) -> Result<DispatchEvent, DecodeError> {
        let current = Arc::ptr_eq(writer, &self.schema);
        if current && self.fingerprint == binary::READER_FINGERPRINT {
            return binary::read_event(datum);
        }

        // Resolution against the reader schema is needed only when the
        // writer's schema differs from it.
        let reader = (!current).then_some(self.schema.as_ref());
        let value = apache_avro::from_avro_datum(writer, &mut Cursor::new(datum), reader)
            .map_err(|source| DecodeError::Datum(Box::new(source)))?;
        event_from_value(value)
    }
}

impl Default for Codec {
    fn default() -> Codec {
        Codec::new()
    }
}

/// The source of a record's writer schema.
enum Framing<'r> {
    Known { writer: Arc<Schema>, datum: &'r [u8] },
    UnknownSchemaId { schema_id: u32 },
}

/// Returns the CRC-64-AVRO fingerprint of the schema's canonical form, in
/// the little-endian byte order of single-object encoding.
pub(crate) fn fingerprint(schema: &Schema) -> [u8; 8] {
    let digest = schema.fingerprint::<Rabin>().bytes;
    digest.try_into().expect("a CRC-64-AVRO fingerprint is 8 bytes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
