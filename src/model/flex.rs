//! FlexBuffers, the schemaless format of MediaPipe's custom options: a
//! bounds-checked reader of the values a map holds (integers, floats, bools,
//! strings, typed and untyped vectors) and a small builder of flat maps, for the
//! writer.

use crate::error::{Error, Result};

/// FlexBuffers value types (the upper six bits of a packed type byte).
mod ty {
    pub const NULL: u8 = 0;
    pub const INT: u8 = 1;
    pub const UINT: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const KEY: u8 = 4;
    pub const STRING: u8 = 5;
    pub const INDIRECT_INT: u8 = 6;
    pub const INDIRECT_UINT: u8 = 7;
    pub const INDIRECT_FLOAT: u8 = 8;
    pub const MAP: u8 = 9;
    pub const VECTOR: u8 = 10;
    pub const VECTOR_INT: u8 = 11;
    pub const VECTOR_KEY: u8 = 14;
    pub const VECTOR_INT2: u8 = 16;
    pub const VECTOR_FLOAT4: u8 = 24;
    pub const BOOL: u8 = 26;
    pub const VECTOR_BOOL: u8 = 36;
}

fn bad(what: impl Into<String>) -> Error {
    Error::malformed(format!("flexbuffer: {}", what.into()))
}

/// One value of a buffer: where it is, the width it is stored with, and its type.
#[derive(Clone, Copy)]
pub struct Ref<'a> {
    buf: &'a [u8],
    pos: usize,
    parent_width: usize,
    byte_width: usize,
    ty: u8,
}

fn read_uint(buf: &[u8], pos: usize, width: usize) -> Result<u64> {
    let b = pos
        .checked_add(width)
        .and_then(|end| buf.get(pos..end))
        .ok_or_else(|| bad(format!("{width}-byte value at {pos} is past the end")))?;
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(b);
    Ok(u64::from_le_bytes(v))
}

fn read_int(buf: &[u8], pos: usize, width: usize) -> Result<i64> {
    let u = read_uint(buf, pos, width)?;
    let shift = 64 - 8 * width as u32;
    Ok(((u << shift) as i64) >> shift)
}

fn read_float(buf: &[u8], pos: usize, width: usize) -> Result<f64> {
    let u = read_uint(buf, pos, width)?;
    match width {
        4 => Ok(f64::from(f32::from_bits(u as u32))),
        8 => Ok(f64::from_bits(u)),
        w => Err(bad(format!("float of {w} bytes"))),
    }
}

fn width_of(packed: u8) -> usize {
    1 << (packed & 3)
}

impl<'a> Ref<'a> {
    /// The root value of a buffer.
    pub fn root(buf: &'a [u8]) -> Result<Ref<'a>> {
        let n = buf.len();
        if n < 3 {
            return Err(bad(format!("{n} bytes is too short")));
        }
        let parent_width = usize::from(buf[n - 1]);
        if !matches!(parent_width, 1 | 2 | 4 | 8) {
            return Err(bad(format!("root width {parent_width}")));
        }
        let packed = buf[n - 2];
        let pos = (n - 2)
            .checked_sub(parent_width)
            .ok_or_else(|| bad("root value is before the start"))?;
        Ok(Ref {
            buf,
            pos,
            parent_width,
            byte_width: width_of(packed),
            ty: packed >> 2,
        })
    }

    /// Where an offset value points.
    fn target(&self) -> Result<usize> {
        let off = read_uint(self.buf, self.pos, self.parent_width)?;
        usize::try_from(off)
            .ok()
            .and_then(|o| self.pos.checked_sub(o))
            .ok_or_else(|| {
                bad(format!(
                    "offset {off} at {} points before the start",
                    self.pos
                ))
            })
    }

    /// The value as an integer (floats truncate, bools are 0/1).
    pub fn as_i64(&self) -> Result<i64> {
        let (b, p, w) = (self.buf, self.pos, self.parent_width);
        match self.ty {
            ty::INT => read_int(b, p, w),
            ty::UINT | ty::BOOL => Ok(read_uint(b, p, w)? as i64),
            ty::FLOAT => Ok(read_float(b, p, w)? as i64),
            ty::INDIRECT_INT => read_int(b, self.target()?, self.byte_width),
            ty::INDIRECT_UINT => Ok(read_uint(b, self.target()?, self.byte_width)? as i64),
            ty::INDIRECT_FLOAT => Ok(read_float(b, self.target()?, self.byte_width)? as i64),
            t => Err(bad(format!("type {t} is not a number"))),
        }
    }

    /// The value as an int32 (an error when out of range).
    pub fn as_i32(&self) -> Result<i32> {
        let v = self.as_i64()?;
        i32::try_from(v).map_err(|_| bad(format!("{v} does not fit int32")))
    }

    /// The value as a float (integers convert).
    pub fn as_f64(&self) -> Result<f64> {
        match self.ty {
            ty::FLOAT => read_float(self.buf, self.pos, self.parent_width),
            ty::INDIRECT_FLOAT => read_float(self.buf, self.target()?, self.byte_width),
            _ => Ok(self.as_i64()? as f64),
        }
    }

    /// The value as a string (STRING or KEY).
    pub fn as_str(&self) -> Result<&'a str> {
        let start = self.target()?;
        let bytes = match self.ty {
            ty::STRING => {
                let len = read_uint(
                    self.buf,
                    start.wrapping_sub(self.byte_width),
                    self.byte_width,
                )?;
                usize::try_from(len)
                    .ok()
                    .and_then(|l| self.buf.get(start..start.checked_add(l)?))
                    .ok_or_else(|| bad(format!("string of {len} bytes at {start}")))?
            }
            ty::KEY => {
                let rest = self.buf.get(start..).unwrap_or(&[]);
                let end = rest
                    .iter()
                    .position(|&c| c == 0)
                    .ok_or_else(|| bad(format!("key at {start} has no terminator")))?;
                &rest[..end]
            }
            t => return Err(bad(format!("type {t} is not a string"))),
        };
        std::str::from_utf8(bytes).map_err(|_| bad(format!("string at {start} is not UTF-8")))
    }

    /// The elements of a vector (typed, fixed-size or untyped).
    pub fn as_vector(&self) -> Result<Vec<Ref<'a>>> {
        let start = self.target()?;
        let bw = self.byte_width;
        let (len, elem) = match self.ty {
            ty::VECTOR | ty::MAP => (self.len_at(start)?, None),
            ty::VECTOR_INT..=ty::VECTOR_KEY => (
                self.len_at(start)?,
                Some(self.ty - ty::VECTOR_INT + ty::INT),
            ),
            ty::VECTOR_BOOL => (self.len_at(start)?, Some(ty::BOOL)),
            ty::VECTOR_INT2..=ty::VECTOR_FLOAT4 => {
                let k = self.ty - ty::VECTOR_INT2;
                (usize::from(k / 3 + 2), Some(k % 3 + ty::INT))
            }
            t => return Err(bad(format!("type {t} is not a vector"))),
        };
        let end = len
            .checked_mul(bw)
            .and_then(|s| start.checked_add(s))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                bad(format!(
                    "vector of {len} elements at {start} is past the end"
                ))
            })?;
        (0..len)
            .map(|i| {
                let ty = match elem {
                    Some(t) => (t << 2) | (bw.trailing_zeros() as u8),
                    None => *self
                        .buf
                        .get(end + i)
                        .ok_or_else(|| bad(format!("vector types at {end} are past the end")))?,
                };
                Ok(Ref {
                    buf: self.buf,
                    pos: start + i * bw,
                    parent_width: bw,
                    byte_width: width_of(ty),
                    ty: ty >> 2,
                })
            })
            .collect()
    }

    fn len_at(&self, start: usize) -> Result<usize> {
        let bw = self.byte_width;
        let len = read_uint(
            self.buf,
            start
                .checked_sub(bw)
                .ok_or_else(|| bad("vector size before the start"))?,
            bw,
        )?;
        usize::try_from(len).map_err(|_| bad(format!("vector size {len}")))
    }

    /// The integers of a vector.
    pub fn as_ints(&self) -> Result<Vec<i64>> {
        self.as_vector()?.iter().map(Ref::as_i64).collect()
    }

    /// The (key, value) pairs of a map.
    pub fn as_map(&self) -> Result<Vec<(&'a str, Ref<'a>)>> {
        if self.ty != ty::MAP {
            return Err(bad(format!("type {} is not a map", self.ty)));
        }
        let values = self.as_vector()?;
        let start = self.target()?;
        let bw = self.byte_width;
        let keys_at = start
            .checked_sub(3 * bw)
            .ok_or_else(|| bad("map keys before the start"))?;
        let keys_width = read_uint(self.buf, keys_at + bw, bw)?;
        if !matches!(keys_width, 1 | 2 | 4 | 8) {
            return Err(bad(format!("map key width {keys_width}")));
        }
        let keys = Ref {
            buf: self.buf,
            pos: keys_at,
            parent_width: bw,
            byte_width: keys_width as usize,
            ty: ty::VECTOR_KEY,
        }
        .as_vector()?;
        if keys.len() != values.len() {
            return Err(bad(format!(
                "map has {} keys and {} values",
                keys.len(),
                values.len()
            )));
        }
        keys.iter()
            .zip(values)
            .map(|(k, v)| Ok((k.as_str()?, v)))
            .collect()
    }

    /// True for a null value.
    pub fn is_null(&self) -> bool {
        self.ty == ty::NULL
    }
}

/// The non-null value of `key` in the entries of a map ([`Ref::as_map`]).
pub fn lookup<'a>(entries: &[(&str, Ref<'a>)], key: &str) -> Option<Ref<'a>> {
    entries
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .filter(|v| !v.is_null())
}

/// A value of a flat map written by [`map`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A float (stored as a double).
    Float(f64),
    /// A typed vector of integers.
    Ints(Vec<i64>),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
}

/// Encode a map of numbers, integer vectors and strings, every value 8 bytes wide,
/// keys sorted as FlexBuffers requires.
pub fn map(entries: &[(&str, Value)]) -> Vec<u8> {
    let mut entries: Vec<&(&str, Value)> = entries.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    let pad = |out: &mut Vec<u8>| out.resize(out.len().next_multiple_of(8), 0);
    let put = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    let mut key_at = Vec::new();
    for (k, _) in &entries {
        key_at.push(out.len());
        out.extend_from_slice(k.as_bytes());
        out.push(0);
    }
    // Out-of-line values (vectors, strings), in entry order.
    let mut value_at = Vec::new();
    for (_, v) in &entries {
        value_at.push(match v {
            Value::Ints(xs) => {
                pad(&mut out);
                put(&mut out, xs.len() as u64);
                let at = out.len();
                for &x in xs {
                    put(&mut out, x as u64);
                }
                Some(at)
            }
            Value::Str(s) => {
                pad(&mut out);
                put(&mut out, s.len() as u64);
                let at = out.len();
                out.extend_from_slice(s.as_bytes());
                out.push(0);
                Some(at)
            }
            _ => None,
        });
    }
    pad(&mut out);
    put(&mut out, entries.len() as u64);
    let keys = out.len();
    for &k in &key_at {
        let at = out.len();
        put(&mut out, (at - k) as u64);
    }
    let at = out.len();
    put(&mut out, (at - keys) as u64);
    put(&mut out, 8);
    put(&mut out, entries.len() as u64);
    let values = out.len();
    let mut types = Vec::new();
    for ((_, v), at) in entries.iter().zip(&value_at) {
        let (word, t) = match (v, at) {
            (Value::Int(x), _) => (*x as u64, ty::INT),
            (Value::Float(x), _) => (x.to_bits(), ty::FLOAT),
            (Value::Bool(x), _) => (u64::from(*x), ty::BOOL),
            (Value::Ints(_), Some(a)) => ((out.len() - a) as u64, ty::VECTOR_INT),
            (Value::Str(_), Some(a)) => ((out.len() - a) as u64, ty::STRING),
            _ => (0, ty::NULL),
        };
        put(&mut out, word);
        types.push((t << 2) | 3);
    }
    out.extend_from_slice(&types);
    let root = out.len();
    put(&mut out, (root - values) as u64);
    out.push((ty::MAP << 2) | 3);
    out.push(8);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Dumps({"max_detections": 3, "nms_iou_threshold": 0.5, "use_regular_nms":
    /// True, "y_scale": 10.0, "neg": -2})` from the `flatbuffers` Python package:
    /// 4-byte slots, 1-byte root, keys in insertion order before the sorted key vector.
    const PY_DUMPS: &[u8] = &[
        109, 97, 120, 95, 100, 101, 116, 101, 99, 116, 105, 111, 110, 115, 0, 110, 109, 115, 95,
        105, 111, 117, 95, 116, 104, 114, 101, 115, 104, 111, 108, 100, 0, 117, 115, 101, 95, 114,
        101, 103, 117, 108, 97, 114, 95, 110, 109, 115, 0, 121, 95, 115, 99, 97, 108, 101, 0, 110,
        101, 103, 0, 5, 62, 6, 49, 32, 17, 0, 6, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 254,
        255, 255, 255, 0, 0, 0, 63, 1, 0, 0, 0, 0, 0, 32, 65, 6, 6, 14, 106, 14, 25, 38, 1,
    ];

    #[test]
    fn reads_what_the_reference_implementation_writes() {
        let map = Ref::root(PY_DUMPS).unwrap().as_map().unwrap();
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| *v)
                .unwrap()
        };
        assert_eq!(get("max_detections").as_i32().unwrap(), 3);
        assert_eq!(get("neg").as_i64().unwrap(), -2);
        assert_eq!(get("nms_iou_threshold").as_f64().unwrap(), 0.5);
        assert_eq!(get("use_regular_nms").as_i64().unwrap(), 1);
        assert_eq!(get("y_scale").as_f64().unwrap(), 10.0);
        assert!(map.iter().all(|(k, _)| *k != "x_scale"));
    }

    #[test]
    fn booleans_round_trip() {
        let bytes = map(&[("on", Value::Bool(true)), ("off", Value::Bool(false))]);
        let m = Ref::root(&bytes).unwrap().as_map().unwrap();
        assert_eq!(m[0].0, "off");
        assert_eq!(m[0].1.as_i64().unwrap(), 0);
        assert_eq!(m[1].1.as_i64().unwrap(), 1);
    }

    #[test]
    fn a_built_map_reads_back() {
        let bytes = map(&[
            ("scale_x", Value::Float(1.5)),
            ("left_rotation_idx", Value::Int(-3)),
            ("subset_idxs", Value::Ints(vec![1, 2, 70000])),
            ("mode", Value::Str("bilinear".into())),
        ]);
        let m = Ref::root(&bytes).unwrap().as_map().unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["left_rotation_idx", "mode", "scale_x", "subset_idxs"]
        );
        assert_eq!(m[0].1.as_i32().unwrap(), -3);
        assert_eq!(m[1].1.as_str().unwrap(), "bilinear");
        assert_eq!(m[2].1.as_f64().unwrap(), 1.5);
        assert_eq!(m[3].1.as_ints().unwrap(), vec![1, 2, 70000]);
    }

    /// A buffer as flatbuffers' C++ builder writes `{"a": 7, "v": [1, 2]}` with
    /// narrow widths: one-byte keys, offsets and integers.
    #[test]
    fn narrow_widths_read() {
        let bytes = [
            b'a',
            0,
            b'v',
            0, // keys
            2,
            1,
            2, // typed int vector [1, 2], size 2, width 1
            2,
            8,
            7, // keys vector: size 2, offsets to "a" and "v"
            2,
            1,
            2, // keys offset (back to the keys vector), key width 1, size 2
            7,
            9, // values: 7 inline, offset to the vector
            (ty::INT << 2),
            (ty::VECTOR_INT << 2), // value types
            4,
            (ty::MAP << 2),
            1, // root: offset to the map values, type, width
        ];
        let m = Ref::root(&bytes).unwrap().as_map().unwrap();
        assert_eq!(m[0].0, "a");
        assert_eq!(m[0].1.as_i64().unwrap(), 7);
        assert_eq!(m[1].0, "v");
        assert_eq!(m[1].1.as_ints().unwrap(), vec![1, 2]);
    }

    /// Every single-byte corruption of a map reads as values or errors, never a
    /// panic or an allocation past the buffer.
    #[test]
    fn corrupted_bytes_never_panic() {
        let bytes = map(&[
            ("mode", Value::Str("bilinear".into())),
            ("output_size", Value::Ints(vec![3, 4])),
            ("scale", Value::Float(0.5)),
        ]);
        for i in 0..bytes.len() {
            for v in [0u8, 1, 2, 7, 0x24, 0x2f, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let Ok(entries) = Ref::root(&b).and_then(|r| r.as_map()) else {
                    continue;
                };
                for (_, r) in entries {
                    let _ = (r.as_i64(), r.as_f64(), r.as_str(), r.as_ints());
                }
            }
        }
    }

    #[test]
    fn truncated_buffers_are_errors() {
        let bytes = map(&[("subset_idxs", Value::Ints(vec![1, 2, 3]))]);
        for n in 0..bytes.len() {
            let cut = &bytes[bytes.len() - n..];
            let _ = Ref::root(cut).and_then(|r| r.as_map().map(|m| m.len()));
        }
        assert!(Ref::root(&[1, 2]).is_err());
    }
}
