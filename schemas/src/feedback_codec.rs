//! Encoding and decoding of [`PushFeedback`] records in Avro single-object
//! encoding.

use std::io::Cursor;

use apache_avro::Schema;

use crate::codec::{fingerprint, DecodeError};
use crate::model::PushFeedback;
use crate::value::{feedback_from_value, feedback_to_value};
use crate::PUSH_FEEDBACK_SCHEMA;

/// Encodes and decodes feedback records with the current `PushFeedback` schema.
///
/// NOTE: only single-object encoding and the current schema version; the
/// feedback topic has no registry support yet.
#[derive(Debug, Clone)]
pub struct FeedbackCodec {
    schema: Schema,
    header: [u8; 10],
}

impl FeedbackCodec {
    /// Creates the codec.
    pub fn new() -> FeedbackCodec {
        let schema = Schema::parse_str(PUSH_FEEDBACK_SCHEMA).expect("the bundled PushFeedback schema is valid Avro");
        let mut header = [0; 10];
        header[..2].copy_from_slice(&[0xC3, 0x01]);
        header[2..].copy_from_slice(&fingerprint(&schema));
        FeedbackCodec { schema, header }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Encodes `feedback`.
    pub fn encode(&self, feedback: &PushFeedback) -> Vec<u8> {
        let datum = apache_avro::to_avro_datum(&self.schema, feedback_to_value(feedback))
            .expect("the feedback value conversion matches the PushFeedback schema");
        let mut record = Vec::with_capacity(self.header.len() + datum.len());
        record.extend_from_slice(&self.header);
        record.extend_from_slice(&datum);
        record
    }

    /// Decodes a record written by [`FeedbackCodec::encode`].
    pub fn decode(&self, record: &[u8]) -> Result<PushFeedback, DecodeError> {
        if record.len() < self.header.len() {
            return Err(DecodeError::Truncated { len: record.len() });
        }
        if record[..2] != self.header[..2] {
            return Err(DecodeError::UnknownFormat { first: record[0] });
        }
        if record[2..10] != self.header[2..] {
            let fingerprint = record[2..10].iter().map(|byte| format!("{byte:02x}")).collect();
            return Err(DecodeError::UnknownFingerprint { fingerprint });
        }

        let value = apache_avro::from_avro_datum(&self.schema, &mut Cursor::new(&record[10..]), None)
            .map_err(|source| DecodeError::Datum(Box::new(source)))?;
        feedback_from_value(value)
    }
}

impl Default for FeedbackCodec {
    fn default() -> FeedbackCodec {
        FeedbackCodec::new()
    }
}
