//! QUANTIZE, DEQUANTIZE and DENSIFY.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;

/// Kernel of quantize.
pub fn quantize(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of dequantize.
pub fn dequantize(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of densify.
pub fn densify(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}
