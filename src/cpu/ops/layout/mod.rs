//! Ops that move data without arithmetic: reshapes, concatenation, splits, slices, transposes, padding, tiling and shape queries.
//!
//! One file per group of ops; the helpers they share are here.

mod concat;
mod fill;
mod pad;
mod reshape;
mod slice;
mod space;
#[cfg(test)]
pub(crate) mod testutil;

pub use concat::{concatenation, pack, split, split_v, unpack};
pub use fill::{broadcast_args, broadcast_to, fill, range, rank, shape, zeros_like};
pub use pad::{mirror_pad, pad};
pub use reshape::{expand_dims, reshape, squeeze};
pub use slice::{reverse_v2, slice, strided_slice, tile, transpose};
pub use space::{batch_to_space_nd, depth_to_space, space_to_batch_nd, space_to_depth};

use super::{numel, OpCtx};
use crate::error::Result;
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Row-major strides of `shape`.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Call `f` with every multi-index of `shape` in row-major order (once for rank 0,
/// never when some dimension is 0).
pub(crate) fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        f(&idx);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Source offsets for every element of `out_shape`, computed by `f` from the output
/// multi-index.
pub(crate) fn map_indices(out_shape: &[usize], mut f: impl FnMut(&[usize]) -> usize) -> Vec<usize> {
    let mut v = Vec::with_capacity(out_shape.iter().product());
    for_each_index(out_shape, |i| v.push(f(i)));
    v
}

/// Concatenate the elements of same-typed data vectors; None on a type mismatch.
pub(crate) fn append_all(parts: &[&Data]) -> Option<Data> {
    let (first, rest) = parts.split_first()?;
    let mut acc = (*first).clone();
    for p in rest {
        match (&mut acc, p) {
            (Data::F32(a), Data::F32(b)) | (Data::C64(a), Data::C64(b)) => a.extend_from_slice(b),
            (Data::F16(a), Data::F16(b)) => a.extend_from_slice(b),
            (Data::I8(a), Data::I8(b)) => a.extend_from_slice(b),
            (Data::U8(a), Data::U8(b)) => a.extend_from_slice(b),
            (Data::I16(a), Data::I16(b)) => a.extend_from_slice(b),
            (Data::I32(a), Data::I32(b)) => a.extend_from_slice(b),
            (Data::U32(a), Data::U32(b)) => a.extend_from_slice(b),
            (Data::I64(a), Data::I64(b)) => a.extend_from_slice(b),
            (Data::Bool(a), Data::Bool(b)) => a.extend_from_slice(b),
            _ => return None,
        }
    }
    Some(acc)
}

/// A tensor of `shape` built from `t`'s elements at `idx`.
fn gathered(t: &Tensor, shape: Vec<usize>, idx: &[usize]) -> Tensor {
    Tensor::new(shape, t.data.gather(idx.iter().copied()))
}

/// `t`'s elements with one extra element (the pad value) appended at index `t.len()`.
fn with_pad_value(ctx: &OpCtx, t: &Tensor, value: &Data) -> Result<Data> {
    append_all(&[&t.data, value]).ok_or_else(|| ctx.err("pad value type differs from the input"))
}

/// A one-element Data of `dtype` holding integer `v` (floats get `v` as a value).
fn scalar_of(ctx: &OpCtx, dtype: DType, v: i64) -> Result<Data> {
    Ok(match dtype {
        DType::I8 => Data::I8(vec![v as i8]),
        DType::U8 => Data::U8(vec![v as u8]),
        DType::I16 => Data::I16(vec![v as i16]),
        DType::I32 => Data::I32(vec![v as i32]),
        DType::U32 => Data::U32(vec![v as u32]),
        DType::I64 => Data::I64(vec![v]),
        DType::F32 => Data::F32(vec![v as f32]),
        DType::F16 => Data::F16(vec![half::f16::from_f32(v as f32)]),
        DType::Bool => Data::Bool(vec![v != 0]),
        DType::Complex64 => Data::C64(vec![v as f32, 0.0]),
        other => return Err(ctx.err(format!("type {other} is not supported"))),
    })
}

/// The pad value of PAD / SPACE_TO_BATCH_ND: the output zero point for quantized
/// integer outputs, else zero.
fn zero_pad_value(ctx: &OpCtx, dtype: DType) -> Result<Data> {
    let zp = match dtype {
        DType::I8 | DType::U8 | DType::I16 => {
            ctx.out_quant(0).map(|q| q.zero_point_at(0)).unwrap_or(0)
        }
        _ => 0,
    };
    scalar_of(ctx, dtype, zp)
}

/// Convert a non-negative i64 to usize with an error naming `what`.
fn to_dim(ctx: &OpCtx, v: i64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| ctx.err(format!("{what} {v} is negative")))
}
