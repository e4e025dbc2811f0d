//! Reductions over axes, ARG_MAX/ARG_MIN and CUMSUM.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::Reduce;
use crate::graph::DType;

/// Kernel of reduce.
pub fn reduce(ctx: &mut OpCtx, kind: Reduce, keep_dims: bool) -> Result<Vec<Tensor>> {
    let _ = kind;
    let _ = keep_dims;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of arg_min_max.
pub fn arg_min_max(ctx: &mut OpCtx, is_max: bool, output_type: DType) -> Result<Vec<Tensor>> {
    let _ = is_max;
    let _ = output_type;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of cumsum.
pub fn cumsum(ctx: &mut OpCtx, exclusive: bool, reverse: bool) -> Result<Vec<Tensor>> {
    let _ = exclusive;
    let _ = reverse;
    Err(ctx.err("not implemented yet"))
}
