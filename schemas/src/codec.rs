//! Encoding and decoding of [`DispatchEvent`] records.
//!
//! Records are written in Avro single-object encoding: the two marker bytes
//! `C3 01`, the 8-byte little-endian CRC-64-AVRO (Rabin) fingerprint of the
//! writer schema's canonical form, then the Avro binary datum (Avro 1.11
//! specification, "Single-object encoding"). The decoder looks the
//! fingerprint up among the schema versions it knows and resolves that
//! writer schema against the current reader schema.

use std::collections::HashMap;
use std::io::Cursor;

use apache_avro::rabin::Rabin;
use apache_avro::Schema;

use crate::model::DispatchEvent;
use crate::value::{event_from_value, event_to_value};
use crate::DISPATCH_EVENT_SCHEMA;

/// Marker that opens every single-object encoded record.
const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];

/// Length of the single-object header: marker plus fingerprint.
const SINGLE_OBJECT_HEADER_LEN: usize = 10;

/// Magic byte of the Confluent Schema Registry wire format.
const CONFLUENT_MAGIC: u8 = 0;

/// Errors of [`Codec::encode`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The event does not fit the schema, which is a bug in the model conversion.
    #[error("event {event_id} does not match the DispatchEvent schema")]
    Schema {
        /// Id of the event that failed to encode.
        event_id: uuid::Uuid,
        /// Avro's explanation.
        #[source]
        source: Box<apache_avro::Error>,
    },
}

/// Errors of [`Codec::decode`]. Every variant is permanent: the same bytes
/// never decode on a retry.
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
    #[error("unknown writer schema fingerprint {fingerprint}: the record was written with a schema this build does not ship; upgrade the worker")]
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

/// Encodes events with the current schema and decodes records written with
/// any known schema version.
#[derive(Debug, Clone)]
pub struct Codec {
    schema: Schema,
    header: [u8; SINGLE_OBJECT_HEADER_LEN],
    writers: HashMap<[u8; 8], Schema>,
}

impl Codec {
    /// Creates a codec for the current `DispatchEvent` schema.
    pub fn new() -> Codec {
        let schema = Schema::parse_str(DISPATCH_EVENT_SCHEMA).expect("the bundled DispatchEvent schema is valid Avro");
        Codec::with_schemas(schema, Vec::new())
    }

    /// Creates a codec that writes and reads with `schema` and also accepts
    /// records written with any of `older` (resolved against `schema`).
    pub fn with_schemas(schema: Schema, older: Vec<Schema>) -> Codec {
        let fingerprint = fingerprint(&schema);

        let mut header = [0; SINGLE_OBJECT_HEADER_LEN];
        header[..2].copy_from_slice(&SINGLE_OBJECT_MARKER);
        header[2..].copy_from_slice(&fingerprint);

        let mut writers: HashMap<[u8; 8], Schema> = older
            .into_iter()
            .map(|writer| (self::fingerprint(&writer), writer))
            .collect();
        writers.insert(fingerprint, schema.clone());

        Codec {
            schema,
            header,
            writers,
        }
    }

    /// The reader and writer schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Encodes `event` in Avro single-object encoding.
    pub fn encode(&self, event: &DispatchEvent) -> Result<Vec<u8>, EncodeError> {
        let datum =
            apache_avro::to_avro_datum(&self.schema, event_to_value(event)).map_err(|source| EncodeError::Schema {
                event_id: event.event_id,
                source: Box::new(source),
            })?;

        let mut record = Vec::with_capacity(SINGLE_OBJECT_HEADER_LEN + datum.len());
        record.extend_from_slice(&self.header);
        record.extend_from_slice(&datum);
        Ok(record)
    }

    /// Decodes a record in single-object encoding into the current model.
    pub fn decode(&self, record: &[u8]) -> Result<DispatchEvent, DecodeError> {
        let Some(&first) = record.first() else {
            return Err(DecodeError::Truncated { len: 0 });
        };

        if first == CONFLUENT_MAGIC {
            let id_bytes: [u8; 4] = record
                .get(1..5)
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(DecodeError::Truncated { len: record.len() })?;
            return Err(DecodeError::RegistryNotConfigured {
                schema_id: u32::from_be_bytes(id_bytes),
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
            .writers
            .get(&fingerprint)
            .ok_or_else(|| DecodeError::UnknownFingerprint {
                fingerprint: hex(&fingerprint),
            })?;

        let mut datum = Cursor::new(&record[SINGLE_OBJECT_HEADER_LEN..]);
        let value = apache_avro::from_avro_datum(writer, &mut datum, Some(&self.schema))
            .map_err(|source| DecodeError::Datum(Box::new(source)))?;
        event_from_value(value)
    }
}

impl Default for Codec {
    fn default() -> Codec {
        Codec::new()
    }
}

/// Returns the CRC-64-AVRO fingerprint of the schema's canonical form, in
/// the little-endian byte order of single-object encoding.
fn fingerprint(schema: &Schema) -> [u8; 8] {
    let digest = schema.fingerprint::<Rabin>().bytes;
    digest.try_into().expect("a CRC-64-AVRO fingerprint is 8 bytes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
