//! RFFT2D and the complex64 accessors COMPLEX_ABS, REAL, IMAG.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;

/// Kernel of rfft2d.
pub fn rfft2d(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of complex_abs.
pub fn complex_abs(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of real_part.
pub fn real_part(ctx: &mut OpCtx, real: bool) -> Result<Vec<Tensor>> {
    let _ = real;
    Err(ctx.err("not implemented yet"))
}
