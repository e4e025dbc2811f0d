//! A bounds-checked reader for FlatBuffers tables.
//!
//! Every access checks its offsets against the buffer and returns a typed error that
//! names the table and field, so a hostile file can never cause an out-of-range read.
//! Layout rules (little endian): a table starts with an `i32` offset back to its vtable;
//! the vtable holds its own size, the table size, then one `u16` offset per field.
//! Reference fields (tables, vectors, strings) hold a `u32` offset forward from the
//! field's own position.

use crate::error::{Error, Result};

/// A scalar type stored inline in tables and vectors.
pub trait Scalar: Copy {
    /// Size in bytes.
    const SIZE: usize;
    /// Decode from exactly `SIZE` little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(bytes: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&bytes[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl Scalar for bool {
    const SIZE: usize = 1;
    fn from_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

fn read<T: Scalar>(buf: &[u8], pos: usize, what: &str) -> Result<T> {
    match pos.checked_add(T::SIZE) {
        Some(end) if end <= buf.len() => Ok(T::from_le(&buf[pos..end])),
        _ => Err(Error::malformed(format!(
            "{what}: read of {} bytes at offset {pos} past the end of the {}-byte file",
            T::SIZE,
            buf.len()
        ))),
    }
}

/// Follow a `u32` forward offset stored at `pos`.
fn follow(buf: &[u8], pos: usize, what: &str) -> Result<usize> {
    let off = read::<u32>(buf, pos, what)? as usize;
    let target = pos
        .checked_add(off)
        .filter(|&t| t < buf.len())
        .ok_or_else(|| {
            Error::malformed(format!(
                "{what}: offset {off} at {pos} points outside the file"
            ))
        })?;
    Ok(target)
}

/// A table inside a FlatBuffer, with its vtable located and checked.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
    name: &'static str,
}

impl<'a> Table<'a> {
    /// The root table of a buffer.
    pub fn root(buf: &'a [u8], name: &'static str) -> Result<Self> {
        let pos = follow(buf, 0, "root offset")?;
        Self::at(buf, pos, name)
    }

    /// The table that starts at `pos`.
    pub fn at(buf: &'a [u8], pos: usize, name: &'static str) -> Result<Self> {
        if pos % 4 != 0 {
            return Err(Error::malformed(format!(
                "{name} table at unaligned offset {pos}"
            )));
        }
        let soff = read::<i32>(buf, pos, name)? as i64;
        let vtable = pos as i64 - soff;
        if vtable < 0 || vtable as usize + 4 > buf.len() || vtable % 2 != 0 {
            return Err(Error::malformed(format!(
                "{name} table at {pos}: vtable offset {soff} points outside the file"
            )));
        }
        let vtable = vtable as usize;
        let vtable_len = read::<u16>(buf, vtable, name)? as usize;
        let table_len = read::<u16>(buf, vtable + 2, name)? as usize;
        if vtable_len < 4 || vtable_len % 2 != 0 || vtable + vtable_len > buf.len() {
            return Err(Error::malformed(format!(
                "{name} table at {pos}: vtable of {vtable_len} bytes does not fit"
            )));
        }
        if pos + table_len > buf.len() {
            return Err(Error::malformed(format!(
                "{name} table at {pos}: {table_len}-byte table runs past the end of the file"
            )));
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
            name,
        })
    }

    /// Absolute position of field `id`, or None when the field is absent.
    fn field_pos(&self, id: usize) -> Result<Option<usize>> {
        let slot = 4 + 2 * id;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = read::<u16>(self.buf, self.vtable + slot, self.name)? as usize;
        if off == 0 {
            return Ok(None);
        }
        Ok(Some(self.pos + off))
    }

    fn what(&self, id: usize) -> String {
        format!("{} field {id} (table at {})", self.name, self.pos)
    }

    /// A scalar field, or `default` when absent.
    pub fn scalar<T: Scalar>(&self, id: usize, default: T) -> Result<T> {
        match self.field_pos(id)? {
            Some(p) => read(self.buf, p, &self.what(id)),
            None => Ok(default),
        }
    }

    /// A sub-table field.
    pub fn table(&self, id: usize, name: &'static str) -> Result<Option<Table<'a>>> {
        match self.field_pos(id)? {
            Some(p) => {
                let t = follow(self.buf, p, &self.what(id))?;
                Ok(Some(Table::at(self.buf, t, name)?))
            }
            None => Ok(None),
        }
    }

    /// A string field (UTF-8 is checked; invalid bytes are replaced).
    pub fn string(&self, id: usize) -> Result<Option<String>> {
        Ok(self
            .bytes(id)?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// A `[ubyte]` or string field as raw bytes.
    pub fn bytes(&self, id: usize) -> Result<Option<&'a [u8]>> {
        match self.vector_pos(id, 1)? {
            Some((start, len)) => Ok(Some(&self.buf[start..start + len])),
            None => Ok(None),
        }
    }

    /// The raw little-endian bytes of a vector field whose elements take `elem`
    /// bytes each.
    pub fn vector_bytes(&self, id: usize, elem: usize) -> Result<Option<&'a [u8]>> {
        Ok(self
            .vector_pos(id, elem)?
            .map(|(start, len)| &self.buf[start..start + len * elem]))
    }

    /// True when field `id` is present in the table.
    pub fn has(&self, id: usize) -> Result<bool> {
        Ok(self.field_pos(id)?.is_some())
    }

    /// Start and element count of a vector field whose elements take `elem` bytes.
    fn vector_pos(&self, id: usize, elem: usize) -> Result<Option<(usize, usize)>> {
        let Some(p) = self.field_pos(id)? else {
            return Ok(None);
        };
        let what = self.what(id);
        let v = follow(self.buf, p, &what)?;
        let len = read::<u32>(self.buf, v, &what)? as usize;
        let start = v + 4;
        let bytes = len
            .checked_mul(elem)
            .filter(|b| start.checked_add(*b).is_some_and(|e| e <= self.buf.len()))
            .ok_or_else(|| {
                Error::malformed(format!(
                    "{what}: vector of {len} elements at {v} runs past the end of the file"
                ))
            })?;
        let _ = bytes;
        Ok(Some((start, len)))
    }

    /// A vector of scalars, decoded.
    pub fn scalars<T: Scalar>(&self, id: usize) -> Result<Option<Vec<T>>> {
        Ok(self.vector_pos(id, T::SIZE)?.map(|(start, len)| {
            (0..len)
                .map(|i| T::from_le(&self.buf[start + i * T::SIZE..]))
                .collect()
        }))
    }

    /// A vector of tables.
    pub fn tables(&self, id: usize, name: &'static str) -> Result<Vec<Table<'a>>> {
        let Some((start, len)) = self.vector_pos(id, 4)? else {
            return Ok(Vec::new());
        };
        (0..len)
            .map(|i| {
                let t = follow(self.buf, start + 4 * i, &self.what(id))?;
                Table::at(self.buf, t, name)
            })
            .collect()
    }
}
