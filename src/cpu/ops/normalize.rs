//! SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::{Activation, Lrn};

/// Kernel of softmax.
pub fn softmax(ctx: &mut OpCtx, beta: f32) -> Result<Vec<Tensor>> {
    let _ = beta;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of log_softmax.
pub fn log_softmax(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of l2_normalization.
pub fn l2_normalization(ctx: &mut OpCtx, act: Activation) -> Result<Vec<Tensor>> {
    let _ = act;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of local_response_normalization.
pub fn local_response_normalization(ctx: &mut OpCtx, p: &Lrn) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}
