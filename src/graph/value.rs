//! Runtime tensor values of the CPU interpreter.

use crate::error::{Error, Result};
use crate::graph::{DType, TensorInfo};
use half::f16;

/// Typed element storage of a runtime tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// float32.
    F32(Vec<f32>),
    /// float16.
    F16(Vec<f16>),
    /// int8.
    I8(Vec<i8>),
    /// uint8.
    U8(Vec<u8>),
    /// int16.
    I16(Vec<i16>),
    /// int32.
    I32(Vec<i32>),
    /// uint32.
    U32(Vec<u32>),
    /// int64.
    I64(Vec<i64>),
    /// bool.
    Bool(Vec<bool>),
    /// complex64 as interleaved (re, im) pairs: twice as many f32 as elements.
    C64(Vec<f32>),
}

/// A tensor value: shape plus typed data, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements.
    pub data: Data,
}

/// Calls `$body` with `$v` bound to the typed vector of every non-complex variant.
#[macro_export]
#[doc(hidden)]
macro_rules! each_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::graph::Data::F32($v) => $body,
            $crate::graph::Data::F16($v) => $body,
            $crate::graph::Data::I8($v) => $body,
            $crate::graph::Data::U8($v) => $body,
            $crate::graph::Data::I16($v) => $body,
            $crate::graph::Data::I32($v) => $body,
            $crate::graph::Data::U32($v) => $body,
            $crate::graph::Data::I64($v) => $body,
            $crate::graph::Data::Bool($v) => $body,
            $crate::graph::Data::C64($v) => $body,
        }
    };
}

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::I16(_) => DType::I16,
            Data::I32(_) => DType::I32,
            Data::U32(_) => DType::U32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
            Data::C64(_) => DType::Complex64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::C64(v) => v.len() / 2,
            d => each_data!(d, v => v.len()),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` zero elements of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> Result<Data> {
        Ok(match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F16 => Data::F16(vec![f16::ZERO; n]),
            DType::I8 => Data::I8(vec![0; n]),
            DType::U8 => Data::U8(vec![0; n]),
            DType::I16 => Data::I16(vec![0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::U32 => Data::U32(vec![0; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::Bool => Data::Bool(vec![false; n]),
            DType::Complex64 => Data::C64(vec![0.0; 2 * n]),
            other => {
                return Err(Error::UnsupportedType {
                    dtype: other.to_string(),
                    what: "the CPU interpreter cannot create a tensor of it".into(),
                })
            }
        })
    }

    /// Decode little-endian bytes of `dtype`.
    pub fn from_bytes(dtype: DType, bytes: &[u8]) -> Result<Data> {
        fn conv<T, const N: usize>(b: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    f(a)
                })
                .collect()
        }
        Ok(match dtype {
            DType::F32 => Data::F32(conv(bytes, f32::from_le_bytes)),
            DType::F16 => Data::F16(conv(bytes, |a: [u8; 2]| f16::from_le_bytes(a))),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::I16 => Data::I16(conv(bytes, i16::from_le_bytes)),
            DType::I32 => Data::I32(conv(bytes, i32::from_le_bytes)),
            DType::U32 => Data::U32(conv(bytes, u32::from_le_bytes)),
            DType::I64 => Data::I64(conv(bytes, i64::from_le_bytes)),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
            DType::Complex64 => Data::C64(conv(bytes, f32::from_le_bytes)),
            other => {
                return Err(Error::UnsupportedType {
                    dtype: other.to_string(),
                    what: "the CPU interpreter cannot decode its bytes".into(),
                })
            }
        })
    }

    /// Encode as little-endian bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Data::F32(v) | Data::C64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Data::U8(v) => v.clone(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
        }
    }

    /// Every element converted to f64 (complex: the real part).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::F16(v) => v.iter().map(|x| x.to_f64()).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
            Data::C64(v) => v.iter().step_by(2).map(|&x| x as f64).collect(),
        }
    }

    /// Every element as i64 (floats truncated toward zero), for index-like tensors.
    pub fn to_i64(&self) -> Vec<i64> {
        match self {
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
            Data::I8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            other => other.to_f64().into_iter().map(|x| x as i64).collect(),
        }
    }

    /// Gather elements by index into a new vector of the same type.
    pub fn gather(&self, idx: impl Iterator<Item = usize> + Clone) -> Data {
        match self {
            Data::C64(v) => Data::C64(idx.flat_map(|i| [v[2 * i], v[2 * i + 1]]).collect()),
            Data::F32(v) => Data::F32(idx.map(|i| v[i]).collect()),
            Data::F16(v) => Data::F16(idx.map(|i| v[i]).collect()),
            Data::I8(v) => Data::I8(idx.map(|i| v[i]).collect()),
            Data::U8(v) => Data::U8(idx.map(|i| v[i]).collect()),
            Data::I16(v) => Data::I16(idx.map(|i| v[i]).collect()),
            Data::I32(v) => Data::I32(idx.map(|i| v[i]).collect()),
            Data::U32(v) => Data::U32(idx.map(|i| v[i]).collect()),
            Data::I64(v) => Data::I64(idx.map(|i| v[i]).collect()),
            Data::Bool(v) => Data::Bool(idx.map(|i| v[i]).collect()),
        }
    }
}

impl Tensor {
    /// A tensor from shape and data; the caller guarantees they agree.
    pub fn new(shape: Vec<usize>, data: Data) -> Tensor {
        Tensor { shape, data }
    }

    /// A float32 tensor.
    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::new(shape, Data::F32(v))
    }

    /// A zero-filled tensor.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor> {
        let n = shape.iter().product();
        Ok(Tensor::new(shape, Data::zeros(dtype, n)?))
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The constant value of a model tensor (dense constants only). Packed int4
    /// constants are unpacked to int8 values (the quantized kernels read them as
    /// int8 with the tensor's quantization, as LiteRT's kernels unpack them).
    pub fn from_info(info: &TensorInfo) -> Result<Option<Tensor>> {
        match &info.data {
            Some(bytes) if info.sparsity.is_none() && info.dtype == DType::Int4 => {
                let n = info.num_elements();
                if bytes.len() != n.div_ceil(2) {
                    return Err(Error::Tensor {
                        index: 0,
                        name: info.name.clone(),
                        what: format!(
                            "int4 data of {} bytes for {n} elements (two per byte)",
                            bytes.len()
                        ),
                    });
                }
                Ok(Some(Tensor::new(
                    info.shape.clone(),
                    Data::I8(unpack_int4(bytes, n)),
                )))
            }
            Some(bytes) if info.sparsity.is_none() => Ok(Some(Tensor::new(
                info.shape.clone(),
                Data::from_bytes(info.dtype, bytes)?,
            ))),
            _ => Ok(None),
        }
    }

    /// The f32 elements, if this is a float32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }
}

/// Signed 4-bit values packed two per byte, as LiteRT stores INT4 tensors: element
/// 2i in the low nibble of byte i, element 2i+1 in the high nibble, each in two's
/// complement. The first `n` elements, sign-extended to int8.
pub fn unpack_int4(bytes: &[u8], n: usize) -> Vec<i8> {
    (0..n)
        .map(|i| {
            let b = bytes.get(i / 2).copied().unwrap_or(0);
            let nibble = if i % 2 == 0 { b & 0x0f } else { b >> 4 };
            ((nibble << 4) as i8) >> 4
        })
        .collect()
}

/// Pack values in [-8, 7] two per byte (see [`unpack_int4`]); an odd count
/// leaves the last high nibble zero. Values outside the range keep their low
/// four bits.
pub fn pack_int4(values: &[i8]) -> Vec<u8> {
    values
        .chunks(2)
        .map(|p| {
            let lo = p[0] as u8 & 0x0f;
            let hi = p.get(1).map_or(0, |&v| v as u8 & 0x0f);
            lo | (hi << 4)
        })
        .collect()
}

#[cfg(test)]
mod int4_tests {
    use super::*;

    #[test]
    fn int4_packs_low_nibble_first_and_round_trips() {
        let v: Vec<i8> = vec![-8, 7, -1, 0, 3];
        let packed = pack_int4(&v);
        assert_eq!(packed, vec![0x78, 0x0f, 0x03]);
        assert_eq!(unpack_int4(&packed, v.len()), v);
        let all: Vec<i8> = (-8..=7).collect();
        assert_eq!(unpack_int4(&pack_int4(&all), all.len()), all);
    }
}
