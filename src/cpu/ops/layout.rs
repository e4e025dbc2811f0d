//! Ops that move data without arithmetic: reshapes, concatenation, splits, slices, transposes, padding, tiling and shape queries.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::{Activation, StridedSlice};
use crate::graph::DType;

/// Kernel of reshape.
pub fn reshape(ctx: &mut OpCtx, new_shape: Option<&[i32]>) -> Result<Vec<Tensor>> {
    let _ = new_shape;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of squeeze.
pub fn squeeze(ctx: &mut OpCtx, axes: &[i32]) -> Result<Vec<Tensor>> {
    let _ = axes;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of expand_dims.
pub fn expand_dims(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of concatenation.
pub fn concatenation(ctx: &mut OpCtx, axis: i32, act: Activation) -> Result<Vec<Tensor>> {
    let _ = axis;
    let _ = act;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of split.
pub fn split(ctx: &mut OpCtx, num_splits: usize) -> Result<Vec<Tensor>> {
    let _ = num_splits;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of split_v.
pub fn split_v(ctx: &mut OpCtx, num_splits: usize) -> Result<Vec<Tensor>> {
    let _ = num_splits;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of slice.
pub fn slice(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of strided_slice.
pub fn strided_slice(ctx: &mut OpCtx, p: &StridedSlice) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of transpose.
pub fn transpose(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of tile.
pub fn tile(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of pack.
pub fn pack(ctx: &mut OpCtx, axis: i32) -> Result<Vec<Tensor>> {
    let _ = axis;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of unpack.
pub fn unpack(ctx: &mut OpCtx, axis: i32, num: usize) -> Result<Vec<Tensor>> {
    let _ = axis;
    let _ = num;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of pad.
pub fn pad(ctx: &mut OpCtx, v2: bool) -> Result<Vec<Tensor>> {
    let _ = v2;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of mirror_pad.
pub fn mirror_pad(ctx: &mut OpCtx, symmetric: bool) -> Result<Vec<Tensor>> {
    let _ = symmetric;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of depth_to_space.
pub fn depth_to_space(ctx: &mut OpCtx, block_size: usize) -> Result<Vec<Tensor>> {
    let _ = block_size;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of space_to_depth.
pub fn space_to_depth(ctx: &mut OpCtx, block_size: usize) -> Result<Vec<Tensor>> {
    let _ = block_size;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of batch_to_space_nd.
pub fn batch_to_space_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of space_to_batch_nd.
pub fn space_to_batch_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of reverse_v2.
pub fn reverse_v2(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of broadcast_to.
pub fn broadcast_to(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of broadcast_args.
pub fn broadcast_args(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of shape.
pub fn shape(ctx: &mut OpCtx, out_type: DType) -> Result<Vec<Tensor>> {
    let _ = out_type;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of rank.
pub fn rank(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of fill.
pub fn fill(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of zeros_like.
pub fn zeros_like(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of range.
pub fn range(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}
