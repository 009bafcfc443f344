//! Primitive reads of the Avro binary encoding over a byte slice.
//!
//! Every read names the schema field it reads, so a malformed datum is
//! reported as [`DecodeError::Invalid`] on that field.

use uuid::Uuid;

use crate::codec::DecodeError;

/// Maximum length in bytes of a zig-zag varint of a 64-bit long.
const MAX_VARINT_LEN: usize = 10;

/// A position in an Avro binary datum.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes }
    }

    /// Reads a zig-zag varint long.
    pub(super) fn long(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let mut zigzag: u64 = 0;
        for (index, &byte) in self.bytes.iter().take(MAX_VARINT_LEN).enumerate() {
            zigzag |= u64::from(byte & 0x7F) << (7 * index);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[index + 1..];
                return Ok((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64));
            }
        }
        if self.bytes.len() < MAX_VARINT_LEN {
            Err(ends_inside(field))
        } else {
            Err(invalid(field, "a varint is longer than 10 bytes".to_string()))
        }
    }

    /// Reads an int: a long within the 32-bit range.
    pub(super) fn int(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let value = self.long(field)?;
        i32::try_from(value).map_err(|_| invalid(field, format!("{value} does not fit an Avro int")))
    }

    pub(super) fn boolean(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.take(field, 1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [other] => Err(invalid(field, format!("boolean byte {other} is neither 0 nor 1"))),
            _ => unreachable!("take returned one byte"),
        }
    }

    pub(super) fn float(&mut self, field: &'static str) -> Result<f32, DecodeError> {
        let bytes = self.take(field, 4)?;
        Ok(f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub(super) fn double(&mut self, field: &'static str) -> Result<f64, DecodeError> {
        let bytes = self.take(field, 8)?;
        Ok(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// Reads length-prefixed bytes.
    pub(super) fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.long(field)?;
        let len = usize::try_from(len).map_err(|_| invalid(field, format!("negative length {len}")))?;
        self.take(field, len)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub(super) fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let bytes = self.bytes(field)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(error) => Err(invalid(field, format!("the string is not UTF-8: {error}"))),
        }
    }

    /// Reads a string with the `uuid` logical type.
    pub(super) fn uuid(&mut self, field: &'static str) -> Result<Uuid, DecodeError> {
        let bytes = self.bytes(field)?;
        Uuid::try_parse_ascii(bytes).map_err(|error| {
            invalid(
                field,
                format!("`{}` is not a UUID: {error}", String::from_utf8_lossy(bytes)),
            )
        })
    }

    /// Reads a union's branch index, which must be below `branches`.
    pub(super) fn branch(&mut self, field: &'static str, branches: u32) -> Result<u32, DecodeError> {
        let index = self.long(field)?;
        match u32::try_from(index) {
            Ok(index) if index < branches => Ok(index),
            _ => Err(invalid(
                field,
                format!("union branch {index} does not exist; the union has {branches}"),
            )),
        }
    }

    /// Reads a `["null", T]` union.
    pub(super) fn optional<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Cursor<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.branch(field, 2)? {
            0 => Ok(None),
            _ => read(self).map(Some),
        }
    }

    pub(super) fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        self.optional(field, |cursor| cursor.string(field))
    }

    /// Reads an enum index as one of `symbols`, which list the schema's
    /// symbols in order.
    pub(super) fn symbol<T: Copy>(&mut self, field: &'static str, symbols: &[T]) -> Result<T, DecodeError> {
        let index = self.long(field)?;
        usize::try_from(index)
            .ok()
            .and_then(|index| symbols.get(index).copied())
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("enum index {index} does not exist; the enum has {}", symbols.len()),
                )
            })
    }

    /// Reads an array whose items each take at least one byte, block by block.
    pub(super) fn array<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Cursor<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut items = Vec::new();
        loop {
            let count = self.block_count(field)?;
            if count == 0 {
                return Ok(items);
            }
            items.reserve(count);
            for _ in 0..count {
                items.push(item(self)?);
            }
        }
    }

    pub(super) fn string_array(&mut self, field: &'static str) -> Result<Vec<String>, DecodeError> {
        self.array(field, |cursor| cursor.string(field))
    }

    /// Reads a block's item count. A negative count is followed by the
    /// block's size in bytes, which this reader does not need. Every item of
    /// the schema's arrays and maps takes at least one byte. So a count
    /// larger than the bytes left is malformed, and rejecting it keeps a
    /// corrupt count from reserving memory.
    fn block_count(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let count = self.long(field)?;
        if count < 0 {
            self.long(field)?;
        }
        let count = count.unsigned_abs();
        if count > self.bytes.len() as u64 {
            return Err(invalid(
                field,
                format!(
                    "a block of {count} items cannot fit in the {} bytes left",
                    self.bytes.len()
                ),
            ));
        }
        Ok(count as usize)
    }

    fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.bytes.len() {
            return Err(ends_inside(field));
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }
}

fn ends_inside(field: &'static str) -> DecodeError {
    invalid(field, "the datum ends inside this field".to_string())
}

fn invalid(field: &'static str, reason: String) -> DecodeError {
    DecodeError::Invalid { field, reason }
}
