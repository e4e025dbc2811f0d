//! Reading and writing NumPy `.npy` files (format versions 1-3, C order).

use crate::error::{Error, Result};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

fn err(path: &str, what: impl Into<String>) -> Error {
    Error::Npy {
        path: path.to_string(),
        what: what.into(),
    }
}

fn dtype_of_descr(descr: &str) -> Option<(DType, bool)> {
    // Returns the dtype and whether the data is big-endian.
    // The byte-order mark, when present, is one ASCII character; anything else
    // (including a multi-byte character) is part of the code.
    let (big, code) = match descr.as_bytes().first() {
        Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f2" => DType::F16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "u4" => DType::U32,
        "i8" => DType::I64,
        "b1" => DType::Bool,
        "c8" => DType::Complex64,
        _ => return None,
    };
    Some((dtype, big))
}

fn descr_of(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::I64 => "<i8",
        DType::Bool => "|b1",
        DType::Complex64 => "<c8",
        _ => return None,
    })
}

/// Extract the value text of `'key':` from the header dictionary.
fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let pat = format!("'{key}'");
    let start = header.find(&pat)? + pat.len();
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(r) = rest.strip_prefix('\'') {
        return r.find('\'').map(|e| &r[..e]);
    }
    if let Some(r) = rest.strip_prefix('(') {
        return r.find(')').map(|e| &r[..e]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Parse `.npy` bytes. `path` only labels errors.
pub fn parse(bytes: &[u8], path: &str) -> Result<Tensor> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err(path, "not an .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(err(path, "truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(err(path, format!("unsupported format version {v}"))),
    };
    let header = bytes
        .get(hstart..hstart.saturating_add(hlen))
        .ok_or_else(|| err(path, "header runs past the end of the file"))?;
    let header = std::str::from_utf8(header).map_err(|_| err(path, "header is not text"))?;
    let descr = header_value(header, "descr").ok_or_else(|| err(path, "header has no descr"))?;
    let (dtype, big) =
        dtype_of_descr(descr).ok_or_else(|| err(path, format!("unsupported dtype {descr}")))?;
    if header_value(header, "fortran_order") == Some("True") {
        return Err(err(path, "Fortran-order arrays are not supported"));
    }
    let shape_text =
        header_value(header, "shape").ok_or_else(|| err(path, "header has no shape"))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| err(path, format!("bad dimension {s:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err(path, "shape overflows"))?;
    let size = dtype.size().unwrap_or(1);
    let body = &bytes[hstart + hlen..];
    let need = n
        .checked_mul(size)
        .ok_or_else(|| err(path, "shape overflows"))?;
    if body.len() < need {
        return Err(err(
            path,
            format!(
                "data holds {} bytes, shape {shape:?} needs {need}",
                body.len()
            ),
        ));
    }
    let mut data = body[..need].to_vec();
    if big && size > 1 {
        let unit = if dtype == DType::Complex64 { 4 } else { size };
        data.chunks_exact_mut(unit).for_each(|c| c.reverse());
    }
    Ok(Tensor::new(shape, Data::from_bytes(dtype, &data)?))
}

/// Read an `.npy` file.
pub fn read(path: impl AsRef<std::path::Path>) -> Result<Tensor> {
    let p = path.as_ref();
    let bytes = std::fs::read(p).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })?;
    parse(&bytes, &p.display().to_string())
}

/// Encode a tensor as `.npy` (version 1) bytes.
pub fn encode(t: &Tensor) -> Result<Vec<u8>> {
    let descr = descr_of(t.dtype())
        .ok_or_else(|| err("<memory>", format!("cannot store {} in .npy", t.dtype())))?;
    let shape = match t.shape.len() {
        0 => String::new(),
        1 => format!("{},", t.shape[0]),
        _ => t
            .shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}");
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&t.data.to_bytes());
    Ok(out)
}

/// Write a tensor to an `.npy` file.
pub fn write(path: impl AsRef<std::path::Path>, t: &Tensor) -> Result<()> {
    let p = path.as_ref();
    std::fs::write(p, encode(t)?).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for t in [
            Tensor::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            Tensor::new(vec![], Data::I32(vec![7])),
            Tensor::new(vec![3], Data::Bool(vec![true, false, true])),
            Tensor::new(vec![1, 2], Data::I8(vec![-3, 4])),
        ] {
            let bytes = encode(&t).unwrap();
            assert_eq!(parse(&bytes, "x").unwrap(), t);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"hello", "x").is_err());
        let mut bytes = encode(&Tensor::f32(vec![4], vec![0.0; 4])).unwrap();
        bytes.truncate(bytes.len() - 3);
        assert!(parse(&bytes, "x").is_err());
    }
}
