//! SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION.

use super::elementwise::check_tensor;
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::{Activation, Lrn};
use crate::graph::quant::{apply_activation, type_range};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Row-wise float transform over the last axis.
type RowFn<'a> = &'a dyn Fn(&[f32], &mut [f32]);

/// Softmax of one row (LiteRT reference float arithmetic).
fn softmax_row(x: &[f32], out: &mut [f32], beta: f32) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (o, &v) in out.iter_mut().zip(x) {
        let e = ((v - max) * beta).exp();
        *o = e;
        sum += e;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

/// Log-softmax of one row (LiteRT reference float arithmetic).
fn log_softmax_row(x: &[f32], out: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = x.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = sum.ln();
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v - max - log_sum;
    }
}

/// L2 normalization of one row.
fn l2_row(x: &[f32], out: &mut [f32]) {
    let sq: f32 = x.iter().map(|v| v * v).sum();
    let norm = sq.sqrt().max(1e-6);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v / norm;
    }
}

/// Local response normalization of one row (LiteRT's window is [c - r, c + r)).
fn lrn_row(x: &[f32], out: &mut [f32], p: &Lrn) {
    let depth = x.len() as i64;
    let r = p.radius as i64;
    for (c, o) in out.iter_mut().enumerate() {
        let c = c as i64;
        let begin = (c - r).max(0);
        let end = (c + r).min(depth);
        let mut acc = 0.0f32;
        let mut k = begin;
        while k < end {
            let v = x[k as usize];
            acc += v * v;
            k += 1;
        }
        *o = x[c as usize] * (p.bias + p.alpha * acc).powf(-p.beta);
    }
}

/// Apply `row` along the last axis of input 0; quantized inputs are dequantized,
/// transformed in float and requantized to the output parameters.
fn rowwise(ctx: &OpCtx, row: RowFn, act: Activation) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let depth = x.shape.last().copied().unwrap_or(1);
    let shape = x.shape.clone();
    let run = |v: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0f32; v.len()];
        if depth > 0 {
            for (i, o) in v.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
                row(i, o);
            }
        }
        apply_activation(act, &mut out);
        out
    };
    let data = match &x.data {
        Data::F32(v) => Data::F32(run(v)),
        Data::I8(v) => {
            let f = dequant(ctx, v.iter().map(|&q| q as i32))?;
            Data::I8(
                requant(ctx, &run(&f), DType::I8)?
                    .map(|q| q as i8)
                    .collect(),
            )
        }
        Data::U8(v) => {
            let f = dequant(ctx, v.iter().map(|&q| q as i32))?;
            Data::U8(
                requant(ctx, &run(&f), DType::U8)?
                    .map(|q| q as u8)
                    .collect(),
            )
        }
        Data::I16(v) => {
            let f = dequant(ctx, v.iter().map(|&q| q as i32))?;
            Data::I16(
                requant(ctx, &run(&f), DType::I16)?
                    .map(|q| q as i16)
                    .collect(),
            )
        }
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(shape, data)])
}

fn dequant(ctx: &OpCtx, q: impl Iterator<Item = i32>) -> Result<Vec<f32>> {
    let (s, z) = ctx.in_qparams(0)?;
    Ok(q.map(|q| (q - z) as f32 * s).collect())
}

fn requant<'a>(ctx: &OpCtx, v: &'a [f32], dtype: DType) -> Result<impl Iterator<Item = i32> + 'a> {
    let (s, z) = ctx.out_qparams(0)?;
    let (lo, hi) = type_range(dtype);
    Ok(v.iter().map(move |&x| {
        let r = (x / s).round();
        let r = if r.is_nan() { 0 } else { r as i64 };
        r.saturating_add(z as i64).clamp(lo as i64, hi as i64) as i32
    }))
}

/// Kernel of softmax.
pub fn softmax(ctx: &mut OpCtx, beta: f32) -> Result<Vec<Tensor>> {
    rowwise(ctx, &|x, o| softmax_row(x, o, beta), Activation::None)
}

/// Kernel of log_softmax.
pub fn log_softmax(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    rowwise(ctx, &log_softmax_row, Activation::None)
}

/// Kernel of l2_normalization.
pub fn l2_normalization(ctx: &mut OpCtx, act: Activation) -> Result<Vec<Tensor>> {
    rowwise(ctx, &l2_row, act)
}

/// Kernel of local_response_normalization.
pub fn local_response_normalization(ctx: &mut OpCtx, p: &Lrn) -> Result<Vec<Tensor>> {
    let p = *p;
    if ctx.input(0)?.dtype() != DType::F32 {
        return Err(ctx.unsupported_dtype(0));
    }
    rowwise(ctx, &move |x, o| lrn_row(x, o, &p), Activation::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows() {
        let x = [1.0f32, 2.0, 3.0];
        let mut o = [0.0f32; 3];
        softmax_row(&x, &mut o, 1.0);
        let s: f32 = o.iter().sum();
        assert!((s - 1.0).abs() < 1e-6);
        assert!((o[2] - 0.665_240_94).abs() < 1e-6);
        softmax_row(&x, &mut o, 0.0);
        assert!(o.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-7));
    }

    #[test]
    fn log_softmax_matches_log_of_softmax() {
        let x = [0.5f32, -1.0, 2.0, 0.0];
        let mut a = [0.0f32; 4];
        let mut b = [0.0f32; 4];
        softmax_row(&x, &mut a, 1.0);
        log_softmax_row(&x, &mut b);
        for (p, q) in a.iter().zip(&b) {
            assert!((p.ln() - q).abs() < 1e-6);
        }
    }

    #[test]
    fn lrn_window() {
        let x = [1.0f32, 2.0, 3.0];
        let mut o = [0.0f32; 3];
        let p = Lrn {
            radius: 1,
            bias: 1.0,
            alpha: 1.0,
            beta: 1.0,
        };
        lrn_row(&x, &mut o, &p);
        // Channel 1 sums channels 0..2 (exclusive end): 1 + 4.
        assert!((o[1] - 2.0 / 6.0).abs() < 1e-6);
    }

    #[test]
    fn l2_norm_row() {
        let x = [3.0f32, 4.0];
        let mut o = [0.0f32; 2];
        l2_row(&x, &mut o);
        assert_eq!(o, [0.6, 0.8]);
    }
}
