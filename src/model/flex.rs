//! FlexBuffers, the schema-less encoding of custom operator options: a
//! bounds-checked reader for the root map of scalars custom ops such as
//! TFLite_Detection_PostProcess store, and a writer for such maps.
//!
//! The reader follows the conversions of the C++ `flexbuffers::Reference`
//! accessors LiteRT kernels call (`AsInt32`, `AsFloat`, `AsBool`, `IsNull`): a
//! missing key reads as null (0, 0.0, false), an integer read as a float converts,
//! a float read as an integer truncates. Every offset and width is checked; a
//! malformed buffer is an error, never a panic.

use std::fmt;

/// Why a FlexBuffer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexError(pub String);

impl fmt::Display for FlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed flexbuffer: {}", self.0)
    }
}

type Result<T> = std::result::Result<T, FlexError>;

fn bad<T>(what: impl Into<String>) -> Result<T> {
    Err(FlexError(what.into()))
}

// FlexBuffers value types (`flexbuffers::Type`).
const NULL: u8 = 0;
const INT: u8 = 1;
const UINT: u8 = 2;
const FLOAT: u8 = 3;
const KEY: u8 = 4;
const INDIRECT_INT: u8 = 6;
const INDIRECT_UINT: u8 = 7;
const INDIRECT_FLOAT: u8 = 8;
const MAP: u8 = 9;
const BOOL: u8 = 26;

/// A scalar of a FlexBuffers map, as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// Absent key or an explicit null.
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float (f32 or f64 in the buffer).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// `AsInt64`: floats truncate toward zero, booleans are 0/1, null is 0.
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Null => 0,
            Scalar::Int(v) => v,
            Scalar::UInt(v) => v as i64,
            Scalar::Float(v) => v as i64,
            Scalar::Bool(b) => b as i64,
        }
    }

    /// `AsInt32`: `AsInt64` narrowed as C++ does (wrapping).
    pub fn as_i32(self) -> i32 {
        self.as_i64() as i32
    }

    /// `AsFloat`: integers convert, booleans are 0/1, null is 0.
    pub fn as_f32(self) -> f32 {
        match self {
            Scalar::Null => 0.0,
            Scalar::Int(v) => v as f64 as f32,
            Scalar::UInt(v) => v as f64 as f32,
            Scalar::Float(v) => v as f32,
            Scalar::Bool(b) => b as i32 as f32,
        }
    }

    /// `AsBool`: non-zero is true.
    pub fn as_bool(self) -> bool {
        match self {
            Scalar::Bool(b) => b,
            other => other.as_i64() != 0 || other.as_f32() != 0.0,
        }
    }

    /// `IsNull`.
    pub fn is_null(self) -> bool {
        matches!(self, Scalar::Null)
    }
}

/// The root map of a FlexBuffer, its keys and scalar values decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlexMap {
    entries: Vec<(String, Scalar)>,
}

impl FlexMap {
    /// The value under `key`, [`Scalar::Null`] when absent.
    pub fn get(&self, key: &str) -> Scalar {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Scalar::Null, |(_, v)| *v)
    }

    /// The keys, in stored order.
    #[cfg(test)]
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

struct Buf<'a>(&'a [u8]);

impl Buf<'_> {
    fn bytes(&self, at: usize, width: usize) -> Result<&[u8]> {
        at.checked_add(width)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                FlexError(format!(
                    "{width} bytes at offset {at} run past the end ({} bytes)",
                    self.0.len()
                ))
            })
    }

    fn uint(&self, at: usize, width: usize) -> Result<u64> {
        let b = self.bytes(at, width)?;
        Ok(match width {
            1 => b[0] as u64,
            2 => u16::from_le_bytes([b[0], b[1]]) as u64,
            4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
            8 => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            _ => return bad(format!("byte width {width}")),
        })
    }

    fn int(&self, at: usize, width: usize) -> Result<i64> {
        let v = self.uint(at, width)?;
        let shift = 64 - 8 * width as u32;
        Ok(((v << shift) as i64) >> shift)
    }

    fn float(&self, at: usize, width: usize) -> Result<f64> {
        let v = self.uint(at, width)?;
        match width {
            4 => Ok(f32::from_bits(v as u32) as f64),
            8 => Ok(f64::from_bits(v)),
            _ => bad(format!("float of byte width {width}")),
        }
    }

    /// The address an offset stored at `at` (of `width` bytes) points back to.
    fn indirect(&self, at: usize, width: usize) -> Result<usize> {
        let off = self.uint(at, width)?;
        usize::try_from(off)
            .ok()
            .and_then(|o| at.checked_sub(o))
            .ok_or_else(|| FlexError(format!("offset {off} at {at} points before the buffer")))
    }

    /// A NUL-terminated key starting at `at`.
    fn key(&self, at: usize) -> Result<String> {
        let rest = self
            .0
            .get(at..)
            .ok_or_else(|| FlexError(format!("key at {at}")))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| FlexError(format!("key at {at} has no terminator")))?;
        String::from_utf8(rest[..end].to_vec())
            .map_err(|_| FlexError(format!("key at {at} is not UTF-8")))
    }

    /// A scalar stored at `at` in a parent of `width`-byte slots, its packed type `packed`.
    fn scalar(&self, at: usize, width: usize, packed: u8) -> Result<Scalar> {
        let own = 1usize << (packed & 3);
        Ok(match packed >> 2 {
            NULL => Scalar::Null,
            INT => Scalar::Int(self.int(at, width)?),
            UINT => Scalar::UInt(self.uint(at, width)?),
            FLOAT => Scalar::Float(self.float(at, width)?),
            BOOL => Scalar::Bool(self.uint(at, width)? != 0),
            INDIRECT_INT => Scalar::Int(self.int(self.indirect(at, width)?, own)?),
            INDIRECT_UINT => Scalar::UInt(self.uint(self.indirect(at, width)?, own)?),
            INDIRECT_FLOAT => Scalar::Float(self.float(self.indirect(at, width)?, own)?),
            t => return bad(format!("value of type {t} is not a scalar")),
        })
    }
}

fn width_of(v: u64) -> Result<usize> {
    match v {
        1 | 2 | 4 | 8 => Ok(v as usize),
        _ => bad(format!("byte width {v}")),
    }
}

/// Read a FlexBuffer whose root is a map of scalars (values of other types are
/// skipped, as a kernel reading only scalars never sees them).
pub fn read_map(data: &[u8]) -> Result<FlexMap> {
    let buf = Buf(data);
    let n = data.len();
    if n < 3 {
        return bad(format!("{n} bytes is too short for a root"));
    }
    let root_width = width_of(data[n - 1] as u64)?;
    let packed = data[n - 2];
    let root_at = (n - 2)
        .checked_sub(root_width)
        .ok_or_else(|| FlexError("root value runs before the buffer".into()))?;
    if packed >> 2 != MAP {
        return bad(format!("root is of type {}, expected a map", packed >> 2));
    }
    let width = 1usize << (packed & 3);
    let map = buf.indirect(root_at, root_width)?;
    let len_at = map
        .checked_sub(width)
        .ok_or_else(|| FlexError("map length runs before the buffer".into()))?;
    let len = usize::try_from(buf.uint(len_at, width)?)
        .map_err(|_| FlexError("map length overflows".into()))?;
    if len > n {
        return bad(format!("map of {len} entries in a {n}-byte buffer"));
    }
    let keys_at = map
        .checked_sub(3 * width)
        .ok_or_else(|| FlexError("map keys run before the buffer".into()))?;
    let keys = buf.indirect(keys_at, width)?;
    let key_width = width_of(buf.uint(keys_at + width, width)?)?;
    let key_len_at = keys
        .checked_sub(key_width)
        .ok_or_else(|| FlexError("key vector length runs before the buffer".into()))?;
    if buf.uint(key_len_at, key_width)? != len as u64 {
        return bad("key vector and map lengths differ");
    }
    let types_at = map
        .checked_add(len * width)
        .ok_or_else(|| FlexError("map types overflow".into()))?;
    let types = buf.bytes(types_at, len)?;
    let mut entries = Vec::with_capacity(len);
    for (i, &t) in types.iter().enumerate() {
        let key = buf.key(buf.indirect(keys + i * key_width, key_width)?)?;
        let value = match t >> 2 {
            NULL | INT | UINT | FLOAT | BOOL | INDIRECT_INT | INDIRECT_UINT | INDIRECT_FLOAT => {
                buf.scalar(map + i * width, width, t)?
            }
            KEY.. => continue,
        };
        entries.push((key, value));
    }
    Ok(FlexMap { entries })
}

/// Encode a root map of scalars, keys sorted as FlexBuffers' lookup requires,
/// every slot 8 bytes wide (ints as i64, floats as f64).
pub fn write_map(entries: &[(&str, Scalar)]) -> Vec<u8> {
    const W: usize = 8;
    let mut sorted: Vec<&(&str, Scalar)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    let mut key_at = Vec::with_capacity(sorted.len());
    for (k, _) in &sorted {
        key_at.push(out.len());
        out.extend_from_slice(k.as_bytes());
        out.push(0);
    }
    let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(W) * W, 0);
    let push = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    pad(&mut out);
    push(&mut out, sorted.len() as u64);
    let keys = out.len();
    for &at in &key_at {
        let here = out.len();
        push(&mut out, (here - at) as u64);
    }
    let here = out.len();
    push(&mut out, (here - keys) as u64);
    push(&mut out, W as u64);
    push(&mut out, sorted.len() as u64);
    let map = out.len();
    let mut types = Vec::with_capacity(sorted.len());
    for (_, v) in &sorted {
        let (t, bits) = match *v {
            Scalar::Null => (NULL, 0),
            Scalar::Int(x) => (INT, x as u64),
            Scalar::UInt(x) => (UINT, x),
            Scalar::Float(x) => (FLOAT, x.to_bits()),
            Scalar::Bool(b) => (BOOL, b as u64),
        };
        push(&mut out, bits);
        types.push((t << 2) | 3);
    }
    out.extend_from_slice(&types);
    pad(&mut out);
    let here = out.len();
    push(&mut out, (here - map) as u64);
    out.push((MAP << 2) | 3);
    out.push(W as u8);
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
        let m = read_map(PY_DUMPS).unwrap();
        assert_eq!(m.get("max_detections"), Scalar::Int(3));
        assert_eq!(m.get("neg"), Scalar::Int(-2));
        assert_eq!(m.get("nms_iou_threshold"), Scalar::Float(0.5));
        assert_eq!(m.get("use_regular_nms"), Scalar::Bool(true));
        assert_eq!(m.get("y_scale").as_f32(), 10.0);
        assert!(m.get("x_scale").is_null());
    }

    #[test]
    fn round_trips_every_scalar_kind() {
        let entries = [
            ("max_detections", Scalar::Int(10)),
            ("nms_iou_threshold", Scalar::Float(0.5)),
            ("use_regular_nms", Scalar::Bool(true)),
            ("neg", Scalar::Int(-3)),
            ("big", Scalar::UInt(u64::MAX)),
            ("nothing", Scalar::Null),
        ];
        let m = read_map(&write_map(&entries)).unwrap();
        for (k, v) in entries {
            assert_eq!(m.get(k), v, "{k}");
        }
        assert_eq!(m.get("absent"), Scalar::Null);
        let keys: Vec<&str> = m.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys are stored sorted");
    }

    #[test]
    fn conversions_follow_the_cpp_accessors() {
        assert_eq!(Scalar::Float(2.9).as_i32(), 2);
        assert_eq!(Scalar::Float(-2.9).as_i32(), -2);
        assert_eq!(Scalar::Int(3).as_f32(), 3.0);
        assert!(Scalar::Int(2).as_bool());
        assert!(!Scalar::Null.as_bool());
        assert_eq!(Scalar::Null.as_f32(), 0.0);
        assert!(Scalar::Null.is_null() && !Scalar::Int(0).is_null());
    }

    /// Every truncation and every single-byte change of a valid buffer reads or
    /// fails with an error, never a panic.
    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = write_map(&[
            ("num_classes", Scalar::Int(90)),
            ("y_scale", Scalar::Float(10.0)),
        ]);
        for n in 0..good.len() {
            let _ = read_map(&good[..n]);
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 2, 3, 4, 8, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = read_map(&b);
            }
        }
        assert!(read_map(&[]).is_err());
        assert!(read_map(&[0, 0, 3]).is_err(), "width 3");
        assert!(read_map(&[1, (INT << 2), 1]).is_err(), "root is not a map");
    }
}
