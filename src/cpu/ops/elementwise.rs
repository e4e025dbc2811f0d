//! Element-wise unary and binary math, comparisons, SELECT, PRELU, ADD_N, CAST.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::{Activation, Binary, Unary};

/// Kernel of unary.
pub fn unary(ctx: &mut OpCtx, u: Unary) -> Result<Vec<Tensor>> {
    let _ = u;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of binary.
pub fn binary(ctx: &mut OpCtx, b: Binary, act: Activation) -> Result<Vec<Tensor>> {
    let _ = b;
    let _ = act;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of select.
pub fn select(ctx: &mut OpCtx, v2: bool) -> Result<Vec<Tensor>> {
    let _ = v2;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of prelu.
pub fn prelu(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of add_n.
pub fn add_n(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of cast.
pub fn cast(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}
