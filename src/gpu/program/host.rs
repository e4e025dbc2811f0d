//! The host side of a program's transfers: partition inputs converted into their
//! mapped staging buffers as the GPU stores them (from a tensor, or from bytes
//! read in place in the caller's memory), and read-back bytes decoded into
//! tensors or into the caller's memory.

use super::halves;
use crate::error::{Error, Result};
use crate::gpu::pipeline::Precision;
use crate::graph::{DType, Data, Tensor};

/// A partition input as the host holds it.
#[derive(Debug, Clone, Copy)]
pub enum HostInput<'a> {
    /// A tensor.
    Tensor(&'a Tensor),
    /// The elements of a tensor of the dtype the program expects for the input,
    /// as bytes in native byte order (bool as 0/1 bytes), read where they are:
    /// the delegate hands the runtime's tensor memory straight through, so the
    /// input crosses the host once, into the staging buffer.
    Bytes(&'a [u8]),
}

impl<'a> HostInput<'a> {
    /// The input's elements as native-order bytes, checked to be of `dtype`
    /// (partition input `slot`, for errors).
    fn bytes(self, dtype: DType, slot: usize) -> Result<&'a [u8]> {
        let size = dtype.size().unwrap_or(0);
        let bytes = match self {
            HostInput::Tensor(t) if t.dtype() != dtype => {
                return Err(Error::device(format!(
                    "partition input {slot} is {}, the program expects {dtype}",
                    t.dtype()
                )))
            }
            HostInput::Tensor(t) => match &t.data {
                Data::F32(v) => bytemuck::cast_slice(v),
                Data::I32(v) => bytemuck::cast_slice(v),
                Data::I8(v) => bytemuck::cast_slice(v),
                Data::U8(v) => v,
                Data::I16(v) => bytemuck::cast_slice(v),
                Data::I64(v) => bytemuck::cast_slice(v),
                Data::Bool(v) => bytemuck::cast_slice(v),
                other => {
                    return Err(Error::UnsupportedType {
                        dtype: other.dtype().to_string(),
                        what: format!("writing partition input {slot} to the GPU"),
                    })
                }
            },
            HostInput::Bytes(b) => b,
        };
        if size == 0 || bytes.len() % size != 0 {
            return Err(Error::device(format!(
                "partition input {slot} holds {} bytes, not a whole number of {dtype} elements",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

/// Bytes `input` (partition input `slot`, of `dtype`) takes on the GPU at
/// `precision`: floats in that precision, everything else as 4-byte words; with
/// the input's bytes.
pub(super) fn stored_bytes<'a>(
    input: HostInput<'a>,
    dtype: DType,
    precision: Precision,
    slot: usize,
) -> Result<(usize, &'a [u8])> {
    let bytes = input.bytes(dtype, slot)?;
    let elements = bytes.len() / dtype.size().unwrap_or(1).max(1);
    let width = match dtype {
        DType::F32 => precision.bytes(),
        _ => 4,
    };
    Ok((elements * width, bytes))
}

/// Convert `bytes` (the elements of partition input `slot`, of `dtype`, in
/// native byte order) into `out` (exactly their [`stored_bytes`]) as stored on
/// the GPU at `precision`: floats in that precision, int32/int64 as i32 words
/// (int64 narrowed; values that do not fit are an error), int8/uint8/int16
/// widened to i32 words, bool as u32 0/1. Returns whether a float beyond the
/// f16 range was saturated (the host side of the guarded store).
pub(super) fn fill(
    out: wgpu::WriteOnly<'_, [u8]>,
    bytes: &[u8],
    dtype: DType,
    precision: Precision,
    slot: usize,
) -> Result<bool> {
    fn words(out: wgpu::WriteOnly<'_, [u8]>, it: impl Iterator<Item = [u8; 4]>) {
        out.into_chunks::<4>().0.write_iter(it);
    }
    let mut out = out;
    match (dtype, precision) {
        (DType::F32, Precision::F32) | (DType::I32, _) => out.copy_from_slice(bytes),
        (DType::F32, Precision::F16) => {
            return Ok(halves::f32_bytes_to_le_halves_saturating(out, bytes))
        }
        (DType::I8, _) => words(out, bytes.iter().map(|&x| i32::from(x as i8).to_le_bytes())),
        (DType::U8, _) => words(out, bytes.iter().map(|&x| i32::from(x).to_le_bytes())),
        (DType::I16, _) => words(
            out,
            bytes
                .chunks_exact(2)
                .map(|c| i32::from(i16::from_ne_bytes([c[0], c[1]])).to_le_bytes()),
        ),
        (DType::I64, _) => {
            let values = bytes
                .chunks_exact(8)
                .map(|c| i64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
            if let Some(x) = values.clone().find(|&x| i32::try_from(x).is_err()) {
                return Err(Error::device(format!(
                    "partition input {slot} holds {x}, outside the int32 range the GPU stores"
                )));
            }
            words(out, values.map(|x| (x as i32).to_le_bytes()))
        }
        (DType::Bool, _) => words(out, bytes.iter().map(|&x| u32::from(x != 0).to_le_bytes())),
        (other, _) => {
            return Err(Error::UnsupportedType {
                dtype: other.to_string(),
                what: format!("writing partition input {slot} to the GPU"),
            })
        }
    }
    Ok(false)
}

/// `n` elements of a read-back buffer (stored at `precision`) as a tensor of
/// `dtype`.
pub(super) fn decode(view: &[u8], n: usize, dtype: DType, precision: Precision) -> Result<Data> {
    let short = || Error::device(format!("a read-back buffer holds fewer than {n} elements"));
    let view32 = view.get(..n * 4);
    // One pass from the mapped bytes to the tensor's elements (no i32 copy between).
    let words = || {
        view32.ok_or_else(short).map(|v| {
            v.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        })
    };
    Ok(match dtype {
        DType::F32 => Data::F32(match precision {
            Precision::F32 => view32
                .ok_or_else(short)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Precision::F16 => {
                let mut out = vec![0f32; n];
                halves::le_halves_to_f32(view.get(..n * 2).ok_or_else(short)?, &mut out);
                out
            }
        }),
        DType::I32 => Data::I32(words()?.collect()),
        DType::I8 => Data::I8(words()?.map(|w| w as i8).collect()),
        DType::U8 => Data::U8(words()?.map(|w| w as u8).collect()),
        DType::I16 => Data::I16(words()?.map(|w| w as i16).collect()),
        DType::I64 => Data::I64(words()?.map(i64::from).collect()),
        DType::Bool => Data::Bool(words()?.map(|w| w != 0).collect()),
        other => {
            return Err(Error::UnsupportedType {
                dtype: other.to_string(),
                what: "reading back a GPU tensor".into(),
            })
        }
    })
}

/// `n` elements of a read-back buffer (stored at `precision`) written into
/// `out` as `dtype` in native byte order.
pub(super) fn decode_into(
    view: &[u8],
    n: usize,
    dtype: DType,
    precision: Precision,
    out: &mut [u8],
) -> Result<()> {
    let words = view
        .get(..n * 4)
        .unwrap_or(&[])
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    match (dtype, precision) {
        (DType::F32, Precision::F32) | (DType::I32, _) if cfg!(target_endian = "little") => {
            let bytes = view.get(..n * 4).unwrap_or(&[]);
            let m = bytes.len().min(out.len());
            out[..m].copy_from_slice(&bytes[..m]);
        }
        (DType::F32, Precision::F32) | (DType::I32, _) => {
            for (o, w) in out.chunks_exact_mut(4).zip(words) {
                o.copy_from_slice(&w.to_ne_bytes());
            }
        }
        (DType::F32, Precision::F16) => {
            let halves = view.get(..n * 2).unwrap_or(&[]);
            let n = out.len().min(halves.len() * 2) / 4 * 4;
            halves::le_halves_to_f32_bytes(halves, &mut out[..n]);
        }
        (DType::I8 | DType::U8, _) => {
            for (o, w) in out.iter_mut().zip(words) {
                *o = w as u8;
            }
        }
        (DType::Bool, _) => {
            for (o, w) in out.iter_mut().zip(words) {
                *o = u8::from(w != 0);
            }
        }
        (DType::I16, _) => {
            for (o, w) in out.chunks_exact_mut(2).zip(words) {
                o.copy_from_slice(&(w as i16).to_ne_bytes());
            }
        }
        (DType::I64, _) => {
            for (o, w) in out.chunks_exact_mut(8).zip(words) {
                o.copy_from_slice(&i64::from(w).to_ne_bytes());
            }
        }
        (other, _) => {
            return Err(Error::UnsupportedType {
                dtype: other.to_string(),
                what: "reading back a GPU tensor".into(),
            })
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Converting a tensor and converting its bytes give the same stored bytes,
    /// for every dtype a partition input can have; misaligned bytes too.
    #[test]
    fn tensors_and_their_bytes_fill_alike() {
        let tensors = [
            Tensor::f32(vec![5], vec![1.5, -2.0, 70000.0, 0.1, -0.0]),
            Tensor::new(vec![3], Data::I32(vec![1, -7, i32::MAX])),
            Tensor::new(vec![3], Data::I8(vec![1, -7, i8::MIN])),
            Tensor::new(vec![3], Data::U8(vec![1, 7, 255])),
            Tensor::new(vec![3], Data::I16(vec![1, -7, i16::MIN])),
            Tensor::new(vec![2], Data::I64(vec![1, -7])),
            Tensor::new(vec![3], Data::Bool(vec![true, false, true])),
        ];
        for precision in [Precision::F32, Precision::F16] {
            for t in &tensors {
                let dtype = t.dtype();
                let (n, bytes) = stored_bytes(HostInput::Tensor(t), dtype, precision, 0).unwrap();
                let mut from_tensor = vec![0u8; n];
                let a = fill((&mut from_tensor[..]).into(), bytes, dtype, precision, 0).unwrap();
                // The same bytes one byte off their alignment.
                let mut shifted = vec![0u8; bytes.len() + 1];
                shifted[1..].copy_from_slice(bytes);
                let (m, raw) =
                    stored_bytes(HostInput::Bytes(&shifted[1..]), dtype, precision, 0).unwrap();
                assert_eq!(m, n);
                let mut from_bytes = vec![0u8; m];
                let b = fill((&mut from_bytes[..]).into(), raw, dtype, precision, 0).unwrap();
                assert_eq!(from_tensor, from_bytes, "{dtype} at {precision:?}");
                assert_eq!(a, b);
                assert_eq!(a, dtype == DType::F32 && precision == Precision::F16);
            }
        }
        let wrong = stored_bytes(HostInput::Bytes(&[0u8; 6]), DType::F32, Precision::F32, 2);
        assert!(wrong.is_err());
        let big = Tensor::new(vec![1], Data::I64(vec![1 << 40]));
        let (n, bytes) =
            stored_bytes(HostInput::Tensor(&big), DType::I64, Precision::F32, 0).unwrap();
        let mut out = vec![0u8; n];
        assert!(fill((&mut out[..]).into(), bytes, DType::I64, Precision::F32, 0).is_err());
    }
}
