//! FULLY_CONNECTED and BATCH_MATMUL (float, int8, 16x8, hybrid).

use super::conv::{
    bias_f32, channel_multipliers, check_act, finish_float, finish_hybrid, float_rescales,
    gemm_rows, int_tensor, prepared, quant_args, quantize_rows, requantize, requantize_wide,
    weight_scales, wide_args, widen, widen_weights, widen_weights_i64, QuantArgs, Rescale,
    WideArgs,
};
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::{Activation, FullyConnected};
use crate::graph::quant::{quantize_multiplier, Multiplier};
use crate::graph::DType;
use crate::graph::Tensor;

/// Weights transposed to [in][out] (plus multipliers for the integer path).
struct PackedFc<T> {
    w: Vec<T>,
    mult: Vec<Multiplier>,
}

fn transpose<T: Copy + Default>(src: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::default(); rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = src[r * cols + c];
        }
    }
    out
}

fn packed<'a, T: Send + Sync + 'static>(
    ctx: &OpCtx<'a>,
    slot: &'a mut Option<PackedFc<T>>,
    build: impl FnOnce() -> Result<PackedFc<T>>,
) -> Result<&'a PackedFc<T>> {
    prepared(ctx, 1, slot, build)
}

/// FULLY_CONNECTED with blockwise-quantized weights [units, inner] and float
/// input, as LiteRT's blockwise kernel computes it: each input row quantized
/// asymmetrically to int8, each block's integer dot product scaled by the
/// block's scale and summed in float, then the row's scale and the bias. The
/// fused activation is applied (LiteRT's XNNPACK path does; its builtin kernel
/// leaves it out, so the quantizer writes this form only without one).
fn blockwise_fc(
    ctx: &OpCtx,
    p: &FullyConnected,
    block: usize,
    units: usize,
    inner: usize,
    shape: Vec<usize>,
) -> Result<Vec<Tensor>> {
    let xs = ctx.input_f32(0)?;
    let w = match &ctx.input(1)?.data {
        crate::graph::Data::I8(v) => v,
        _ => return Err(ctx.unsupported_dtype(1)),
    };
    let scales = ctx.in_quant(1).map(|q| &q.scale[..]).unwrap_or(&[]);
    if block == 0 || inner % block != 0 || scales.len() != units * (inner / block) {
        return Err(ctx.err(format!(
            "{} block scales for weights [{units}, {inner}] in blocks of {block}",
            scales.len()
        )));
    }
    let bias = bias_f32(ctx, 2, units)?;
    let (xq, sf) = quantize_rows(xs, inner, true);
    let blocks = inner / block;
    let mut out = vec![0.0f32; xs.len() / inner * units];
    for ((row, orow), &s) in xq.chunks(inner).zip(out.chunks_mut(units)).zip(&sf) {
        for (n, o) in orow.iter_mut().enumerate() {
            let wrow = &w[n * inner..(n + 1) * inner];
            let mut acc = 0.0f32;
            for b in 0..blocks {
                let r = b * block..(b + 1) * block;
                let dot: i32 = row[r.clone()]
                    .iter()
                    .zip(&wrow[r])
                    .map(|(&x, &w)| x * w as i32)
                    .sum();
                acc += dot as f32 * scales[n * blocks + b];
            }
            *o = acc * s;
        }
    }
    finish_float(&mut out, bias, p.activation);
    Ok(vec![Tensor::f32(shape, out)])
}

/// Kernel of fully_connected: input flattened to [batch, in], weights [out, in],
/// optional bias [out].
pub fn fully_connected(ctx: &mut OpCtx, p: &FullyConnected) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let x = ctx.input(0)?;
    let w = ctx.input(1)?;
    let [units, inner] = match w.shape[..] {
        [a, b] => [a, b],
        _ => return Err(ctx.err(format!("weights must be 2-D, got {:?}", w.shape))),
    };
    if inner == 0 || x.len() % inner != 0 {
        return Err(ctx.err(format!(
            "input of {} elements does not divide into rows of {inner}",
            x.len()
        )));
    }
    let batch = x.len() / inner;
    let shape = if p.keep_num_dims {
        if x.shape.last() != Some(&inner) {
            return Err(ctx.err(format!(
                "keep_num_dims needs the input's last dimension to be {inner}"
            )));
        }
        let mut s = x.shape.clone();
        if let Some(l) = s.last_mut() {
            *l = units;
        }
        s
    } else {
        vec![batch, units]
    };
    ctx.check_size(&shape, ctx.out_dtype(0)?)?;
    if let Some(block) = ctx.in_quant(1).and_then(|q| q.block) {
        return blockwise_fc(ctx, p, block.size, units, inner, shape);
    }
    match (x.dtype(), w.dtype()) {
        (DType::F32, DType::F32) => {
            let xs = ctx.input_f32(0)?;
            let ws = ctx.input_f32(1)?;
            let bias = bias_f32(ctx, 2, units)?;
            let mut slot = None;
            let pk = packed(ctx, &mut slot, || {
                Ok(PackedFc {
                    w: transpose(ws, units, inner),
                    mult: Vec::new(),
                })
            })?;
            let mut out = vec![0.0f32; batch * units];
            gemm_rows(xs, batch, inner, &pk.w, units, &mut out);
            finish_float(&mut out, bias, p.activation);
            Ok(vec![Tensor::f32(shape, out)])
        }
        (DType::F32, DType::I8 | DType::U8) => {
            let xs = ctx.input_f32(0)?;
            let scales = weight_scales(ctx, 1, units)?;
            let zps = ctx
                .in_quant(1)
                .map(|q| q.zero_point.clone())
                .unwrap_or_default();
            let bias = bias_f32(ctx, 2, units)?;
            let mut slot = None;
            let pk = packed(ctx, &mut slot, || {
                let wi =
                    widen_weights(w, &zps, inner, units).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(PackedFc {
                    w: transpose(&wi, units, inner),
                    mult: Vec::new(),
                })
            })?;
            let (xq, sf) = quantize_rows(xs, inner, p.asymmetric_quantize_inputs);
            let mut acc = vec![0i32; batch * units];
            gemm_rows(&xq, batch, inner, &pk.w, units, &mut acc);
            let out = finish_hybrid(&acc, units, &sf, &scales, units, bias, p.activation, false);
            Ok(vec![Tensor::f32(shape, out)])
        }
        (DType::I16, DType::I8) => {
            let WideArgs {
                is,
                os,
                ws: scales,
                zps,
                bias,
                x: xi,
            } = wide_args(ctx, 0, 2, units)?;
            let mut slot = None;
            let pk = packed(ctx, &mut slot, || {
                let wi = widen_weights_i64(w, &zps, inner, units)
                    .ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(PackedFc {
                    w: transpose(&wi, units, inner),
                    mult: channel_multipliers(is, &scales, os, units),
                })
            })?;
            let mut acc = vec![0i64; batch * units];
            gemm_rows(&xi, batch, inner, &pk.w, units, &mut acc);
            // LiteRT rescales a per-channel 16x8 FULLY_CONNECTED in double precision,
            // a per-tensor one with the fixed-point multiplier.
            let per_channel;
            let rescale = if scales.len() > 1 {
                per_channel = float_rescales(is, &scales, os);
                Rescale::Float(&per_channel)
            } else {
                Rescale::Fixed(&pk.mult)
            };
            Ok(vec![requantize_wide(
                ctx,
                &acc,
                bias.as_deref(),
                rescale,
                p.activation,
                shape,
            )?])
        }
        (DType::I8 | DType::U8, DType::I8 | DType::U8) => {
            let QuantArgs {
                is,
                os,
                ws: scales,
                zps,
                bias,
                x: xi,
            } = quant_args(ctx, 0, 2, units)?;
            let mut slot = None;
            let pk = packed(ctx, &mut slot, || {
                let wi =
                    widen_weights(w, &zps, inner, units).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(PackedFc {
                    w: transpose(&wi, units, inner),
                    mult: channel_multipliers(is, &scales, os, units),
                })
            })?;
            let mut acc = vec![0i32; batch * units];
            gemm_rows(&xi, batch, inner, &pk.w, units, &mut acc);
            Ok(vec![requantize(
                ctx,
                &acc,
                bias.as_deref(),
                &pk.mult,
                p.activation,
                shape,
            )?])
        }
        (a, b) => Err(ctx.err(format!("input {a} with weights {b} is not supported"))),
    }
}

/// Broadcast the batch dimensions of two operands; returns the output batch shape.
fn broadcast_batch(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        *o = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

/// Flat batch index of an operand with batch dims `dims` at output batch position.
fn batch_offset(out_batch: &[usize], dims: &[usize], mut flat: usize) -> usize {
    let r = out_batch.len();
    let mut idx = 0;
    let mut stride = 1;
    for i in (0..r).rev() {
        let coord = flat % out_batch[i];
        flat /= out_batch[i];
        if i + dims.len() >= r {
            let d = dims[i + dims.len() - r];
            if d != 1 {
                idx += coord * stride;
            }
            stride *= d;
        }
    }
    idx
}

/// Kernel of batch_matmul: [..., M, K] x [..., K, N] with optional adjoints and
/// broadcasting of the batch dimensions.
pub fn batch_matmul(ctx: &mut OpCtx, adj_x: bool, adj_y: bool) -> Result<Vec<Tensor>> {
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    if a.rank() < 2 || b.rank() < 2 {
        return Err(ctx.err("operands must have rank 2 or more"));
    }
    let (ar, br) = (a.rank(), b.rank());
    let (a0, a1) = (a.shape[ar - 2], a.shape[ar - 1]);
    let (b0, b1) = (b.shape[br - 2], b.shape[br - 1]);
    let (m, k) = if adj_x { (a1, a0) } else { (a0, a1) };
    let (kb, n) = if adj_y { (b1, b0) } else { (b0, b1) };
    if k != kb {
        return Err(ctx.err(format!(
            "inner dimensions differ: {:?} x {:?}",
            a.shape, b.shape
        )));
    }
    let abatch = &a.shape[..ar - 2];
    let bbatch = &b.shape[..br - 2];
    let ob = broadcast_batch(abatch, bbatch).ok_or_else(|| {
        ctx.err(format!(
            "batch dims of {:?} and {:?} differ",
            a.shape, b.shape
        ))
    })?;
    let mut shape = ob.clone();
    shape.push(m);
    shape.push(n);
    ctx.check_size(&shape, ctx.out_dtype(0)?)?;

    fn run<T: super::conv::Num>(
        av: &[T],
        bv: &[T],
        dims: (usize, usize, usize),
        adj: (bool, bool),
        batches: (&[usize], &[usize], &[usize]),
    ) -> Vec<T> {
        let (m, k, n) = dims;
        let (ob, abatch, bbatch) = batches;
        let nb: usize = ob.iter().product();
        let mut out = vec![T::default(); nb * m * n];
        let mut lhs = vec![T::default(); m * k];
        let mut rhs = vec![T::default(); k * n];
        for bi in 0..nb {
            let ao = batch_offset(ob, abatch, bi) * m * k;
            let bo = batch_offset(ob, bbatch, bi) * k * n;
            let asl = &av[ao..ao + m * k];
            let bsl = &bv[bo..bo + k * n];
            let l: &[T] = if adj.0 {
                // stored [K][M]
                for r in 0..k {
                    for c in 0..m {
                        lhs[c * k + r] = asl[r * m + c];
                    }
                }
                &lhs
            } else {
                asl
            };
            let r: &[T] = if adj.1 {
                // stored [N][K]
                for r in 0..n {
                    for c in 0..k {
                        rhs[c * n + r] = bsl[r * k + c];
                    }
                }
                &rhs
            } else {
                bsl
            };
            gemm_rows(l, m, k, r, n, &mut out[bi * m * n..(bi + 1) * m * n]);
        }
        out
    }
    let dims = (m, k, n);
    let adj = (adj_x, adj_y);
    let batches = (&ob[..], abatch, bbatch);
    match (a.dtype(), b.dtype()) {
        (DType::F32, DType::F32) => {
            let av = ctx.input_f32(0)?;
            let bv = ctx.input_f32(1)?;
            let out = run(av, bv, dims, adj, batches);
            Ok(vec![Tensor::f32(shape, out)])
        }
        (DType::I8 | DType::I16, DType::I8 | DType::I16) => {
            let (as_, azp) = ctx.in_qparams(0)?;
            let (bs, bzp) = ctx.in_qparams(1)?;
            let (os, _) = ctx.out_qparams(0)?;
            let av = widen(a, azp).ok_or_else(|| ctx.unsupported_dtype(0))?;
            let bv = widen(b, bzp).ok_or_else(|| ctx.unsupported_dtype(1))?;
            let acc = run(&av, &bv, dims, adj, batches);
            let dtype = ctx.out_dtype(0)?;
            if dtype == DType::I32 {
                return int_tensor(dtype, shape, &acc)
                    .map(|t| vec![t])
                    .ok_or_else(|| ctx.unsupported_dtype(0));
            }
            let mult = quantize_multiplier(as_ as f64 * bs as f64 / os as f64);
            Ok(vec![requantize(
                ctx,
                &acc,
                None,
                &[mult],
                Activation::None,
                shape,
            )?])
        }
        (DType::F32, DType::I8) => {
            // Hybrid: dequantize the constant rhs.
            let (bs, bzp) = ctx.in_qparams(1)?;
            let av = ctx.input_f32(0)?;
            let bw = widen(b, bzp).ok_or_else(|| ctx.unsupported_dtype(1))?;
            let bv: Vec<f32> = bw.iter().map(|&v| v as f32 * bs).collect();
            let out = run(av, &bv, dims, adj, batches);
            Ok(vec![Tensor::f32(shape, out)])
        }
        _ => Err(ctx.unsupported_dtype(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::conv::test_util::*;
    use super::*;
    use crate::graph::Data;
    use crate::graph::{Op, Quantization};

    #[test]
    fn batch_matmul_broadcasts_and_adjoints() {
        // lhs [2, 1, 3, 4] (adj_x: stored [.., 4, 3]), rhs [3, 4, 5] (adj_y: [.., 5, 4]).
        for &(adj_x, adj_y) in &[(false, false), (true, false), (false, true), (true, true)] {
            let (m, k, n) = (3, 4, 5);
            let a = rand(2 * m * k, 1);
            let b = rand(3 * k * n, 2);
            let ash = if adj_x {
                vec![2, 1, k, m]
            } else {
                vec![2, 1, m, k]
            };
            let bsh = if adj_y { vec![3, n, k] } else { vec![3, k, n] };
            let got = run(
                Op::BatchMatMul {
                    adj_x,
                    adj_y,
                    asymmetric_quantize_inputs: false,
                },
                vec![
                    Some(rt(Tensor::f32(ash, a.clone()))),
                    Some(rt(Tensor::f32(bsh, b.clone()))),
                ],
                vec![(DType::F32, vec![2, 3, m, n], None)],
            )
            .unwrap();
            assert_eq!(got[0].shape, vec![2, 3, m, n]);
            let mut want = Vec::new();
            for i in 0..2 {
                for j in 0..3 {
                    for r in 0..m {
                        for c in 0..n {
                            let mut s = 0.0;
                            for t in 0..k {
                                let av = if adj_x {
                                    a[i * m * k + t * m + r]
                                } else {
                                    a[i * m * k + r * k + t]
                                };
                                let bv = if adj_y {
                                    b[j * k * n + c * k + t]
                                } else {
                                    b[j * k * n + t * n + c]
                                };
                                s += av * bv;
                            }
                            want.push(s);
                        }
                    }
                }
            }
            close(&f32s(&got[0]), &want, 1e-5);
        }
    }

    #[test]
    fn fully_connected_keep_dims_and_hybrid() {
        let x = rand(2 * 3 * 6, 3);
        let w = rand(4 * 6, 4);
        let b = rand(4, 5);
        let p = FullyConnected {
            activation: Activation::None,
            keep_num_dims: true,
            asymmetric_quantize_inputs: false,
        };
        let got = run(
            Op::FullyConnected(p),
            vec![
                Some(rt(Tensor::f32(vec![2, 3, 6], x.clone()))),
                Some(cst(Tensor::f32(vec![4, 6], w.clone()))),
                Some(cst(Tensor::f32(vec![4], b.clone()))),
            ],
            vec![(DType::F32, vec![2, 3, 4], None)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3, 4]);
        let mut want = Vec::new();
        for r in 0..6 {
            for o in 0..4 {
                let s: f32 = (0..6).map(|i| x[r * 6 + i] * w[o * 6 + i]).sum();
                want.push(s + b[o]);
            }
        }
        close(&f32s(&got[0]), &want, 1e-5);

        // Hybrid: int8 weights, the input quantized per row with max|x| / 127.
        let wq: Vec<i8> = rand(4 * 6, 6).iter().map(|v| (v * 127.0) as i8).collect();
        let ws = 0.01f32;
        let p = FullyConnected {
            keep_num_dims: false,
            ..p
        };
        let got = run(
            Op::FullyConnected(p),
            vec![
                Some(rt(Tensor::f32(vec![6, 6], x.clone()))),
                Some(q(
                    cst(Tensor::new(vec![4, 6], Data::I8(wq.clone()))),
                    vec![ws],
                    vec![0],
                    0,
                )),
                Some(cst(Tensor::f32(vec![4], b.clone()))),
            ],
            vec![(DType::F32, vec![6, 4], None)],
        )
        .unwrap();
        let mut want = Vec::new();
        for r in 0..6 {
            let row = &x[r * 6..r * 6 + 6];
            let range = row.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let sf = range / 127.0;
            let qx: Vec<i32> = row
                .iter()
                .map(|v| (v * (127.0 / range)).round() as i32)
                .collect();
            for o in 0..4 {
                let acc: i32 = (0..6).map(|i| qx[i] * wq[o * 6 + i] as i32).sum();
                want.push(acc as f32 * sf * ws + b[o]);
            }
        }
        close(&f32s(&got[0]), &want, 1e-5);
    }

    #[test]
    fn fully_connected_int8_saturates() {
        let p = FullyConnected::default();
        let got = run(
            Op::FullyConnected(p),
            vec![
                Some(q(
                    rt(i8t(vec![1, 2], vec![127, -128])),
                    vec![1.0],
                    vec![0],
                    0,
                )),
                Some(q(
                    cst(i8t(vec![2, 2], vec![127, 0, 0, 127])),
                    vec![1.0],
                    vec![0],
                    0,
                )),
                None,
            ],
            vec![(
                DType::I8,
                vec![1, 2],
                Some(Quantization::per_tensor(1.0, 0)),
            )],
        )
        .unwrap();
        assert_eq!(got[0].data, Data::I8(vec![127, -128]));
    }
}
