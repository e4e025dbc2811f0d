//! UNIDIRECTIONAL_SEQUENCE_LSTM.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::Lstm;

/// Kernel of unidirectional_sequence_lstm.
pub fn unidirectional_sequence_lstm(ctx: &mut OpCtx, p: &Lstm) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}
