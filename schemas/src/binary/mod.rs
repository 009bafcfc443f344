//! Avro binary encoding of events, read and written straight from the model.
//!
//! Both sides follow the Avro 1.11 specification's "Binary Encoding":
//! zig-zag varints for int and long, length-prefixed bytes and strings, the
//! branch index before a union's value, and arrays and maps as blocks of
//! items ending with a zero count.
//!
//! - `writer`: encodes an event with the current schema.
//! - `reader`: decodes a datum written with the current schema, the schema of
//!   nearly every record a worker reads. Records of other schema versions go
//!   through apache-avro's schema resolution instead (see [`crate::codec`]).
//! - `cursor`: the primitive reads the decoder is built from.

mod cursor;
mod reader;
mod writer;

pub(crate) use reader::{read_event, READER_FINGERPRINT};
pub(crate) use writer::write_event;
