//! UNIDIRECTIONAL_SEQUENCE_LSTM.

use super::elementwise::check_tensor;
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::{Activation, Lstm};
use crate::graph::Tensor;

/// Input positions of the TFLite LSTM operator.
const INPUT: usize = 0;
const OUTPUT_STATE: usize = 18;
const CELL_STATE: usize = 19;

/// The weights of one gate.
struct Gate<'a> {
    /// [n_cell, n_input].
    w_in: &'a [f32],
    /// [n_cell, n_output].
    w_rec: &'a [f32],
    /// Peephole weights [n_cell].
    peephole: Option<&'a [f32]>,
    /// Bias [n_cell].
    bias: &'a [f32],
    /// Layer-norm coefficients [n_cell].
    layer_norm: Option<&'a [f32]>,
}

/// Dimensions of the LSTM.
#[derive(Clone, Copy)]
struct Dims {
    n_input: usize,
    n_output: usize,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn cell_activation(act: Activation, x: f32) -> f32 {
    crate::graph::quant::activate(act, x)
}

/// result[r] += dot(matrix row r, v) for a row-major [rows, cols] matrix.
fn matvec_acc(m: &[f32], cols: usize, v: &[f32], out: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(m.chunks_exact(cols)) {
        let mut dot = 0.0f32;
        for (a, b) in row.iter().zip(v) {
            dot += a * b;
        }
        *o += dot;
    }
}

/// Normalize to zero mean and unit variance (LiteRT `MeanStddevNormalization`).
fn mean_stddev_normalize(v: &mut [f32]) {
    let n = v.len() as f32;
    let sum: f32 = v.iter().sum();
    let mean = sum / n;
    let mut sq = 0.0f32;
    for &x in v.iter() {
        let d = x - mean;
        sq += d * d;
    }
    let inv = 1.0 / (sq / n + 1e-8).sqrt();
    v.iter_mut().for_each(|x| *x = (*x - mean) * inv);
}

/// Compute one gate's pre-activation for one batch row.
fn gate_pre(g: &Gate, d: Dims, x: &[f32], h: &[f32], c: &[f32], out: &mut [f32]) {
    if g.layer_norm.is_some() {
        out.fill(0.0);
    } else {
        out.copy_from_slice(g.bias);
    }
    matvec_acc(g.w_in, d.n_input, x, out);
    matvec_acc(g.w_rec, d.n_output, h, out);
    if let Some(p) = g.peephole {
        for ((o, &w), &cv) in out.iter_mut().zip(p).zip(c) {
            *o += w * cv;
        }
    }
    if let Some(ln) = g.layer_norm {
        mean_stddev_normalize(out);
        for ((o, &k), &b) in out.iter_mut().zip(ln).zip(g.bias) {
            *o = *o * k + b;
        }
    }
}

/// Kernel of unidirectional_sequence_lstm.
pub fn unidirectional_sequence_lstm(ctx: &mut OpCtx, p: &Lstm) -> Result<Vec<Tensor>> {
    let x = ctx.input(INPUT)?;
    check_tensor(ctx, x, INPUT)?;
    let xs = ctx.input_f32(INPUT)?;
    if x.shape.len() != 3 {
        return Err(ctx.err(format!("input must be rank 3, got {:?}", x.shape)));
    }
    let (n_time, n_batch, n_input) = if p.time_major {
        (x.shape[0], x.shape[1], x.shape[2])
    } else {
        (x.shape[1], x.shape[0], x.shape[2])
    };
    let opt = |i: usize| -> Result<Option<&[f32]>> {
        match ctx.opt_input(i) {
            Some(t) => {
                check_tensor(ctx, t, i)?;
                Ok(Some(ctx.input_f32(i)?))
            }
            None => Ok(None),
        }
    };
    let req = |i: usize| -> Result<&[f32]> {
        let t = ctx.input(i)?;
        check_tensor(ctx, t, i)?;
        ctx.input_f32(i)
    };
    let w_forget = ctx.input(2)?;
    if w_forget.shape.len() != 2 || w_forget.shape[1] != n_input {
        return Err(ctx.err("input_to_forget_weights must be [n_cell, n_input]"));
    }
    let n_cell = w_forget.shape[0];
    let w_rec_forget = ctx.input(6)?;
    if w_rec_forget.shape.len() != 2 || w_rec_forget.shape[0] != n_cell {
        return Err(ctx.err("recurrent_to_forget_weights must be [n_cell, n_output]"));
    }
    let n_output = w_rec_forget.shape[1];
    let d = Dims { n_input, n_output };
    let check_len = |v: &[f32], n: usize, what: &str| -> Result<()> {
        if v.len() != n {
            return Err(ctx.err(format!("{what} has {} elements, expected {n}", v.len())));
        }
        Ok(())
    };
    let make_gate = |wi: usize, wr: usize, peep: Option<usize>, b: usize, ln: usize| {
        let g = Gate {
            w_in: req(wi)?,
            w_rec: req(wr)?,
            peephole: match peep {
                Some(i) => opt(i)?,
                None => None,
            },
            bias: req(b)?,
            layer_norm: opt(ln)?,
        };
        check_len(g.w_in, n_cell * n_input, "input weights")?;
        check_len(g.w_rec, n_cell * n_output, "recurrent weights")?;
        check_len(g.bias, n_cell, "gate bias")?;
        if let Some(v) = g.peephole {
            check_len(v, n_cell, "peephole weights")?;
        }
        if let Some(v) = g.layer_norm {
            check_len(v, n_cell, "layer norm coefficients")?;
        }
        Ok::<Gate, crate::error::Error>(g)
    };
    let cifg = ctx.opt_input(1).is_none();
    let input_gate = if cifg {
        None
    } else {
        Some(make_gate(1, 5, Some(9), 12, 20)?)
    };
    let forget_gate = make_gate(2, 6, Some(10), 13, 21)?;
    let cell_gate = make_gate(3, 7, None, 14, 22)?;
    let output_gate = make_gate(4, 8, Some(11), 15, 23)?;
    let proj_w = opt(16)?;
    let proj_b = opt(17)?;
    if let Some(w) = proj_w {
        check_len(w, n_output * n_cell, "projection weights")?;
    } else if n_output != n_cell {
        return Err(ctx.err("without projection n_output must equal n_cell"));
    }
    if let Some(b) = proj_b {
        check_len(b, n_output, "projection bias")?;
    }
    let mut h_state = req(OUTPUT_STATE)?.to_vec();
    let mut c_state = req(CELL_STATE)?.to_vec();
    check_len(&h_state, n_batch * n_output, "output state")?;
    check_len(&c_state, n_batch * n_cell, "cell state")?;
    let out_shape = if p.time_major {
        vec![n_time, n_batch, n_output]
    } else {
        vec![n_batch, n_time, n_output]
    };
    ctx.check_size(&out_shape, crate::graph::DType::F32)?;
    let mut output = vec![0.0f32; n_time * n_batch * n_output];

    let mut ig = vec![0.0f32; n_cell];
    let mut fg = vec![0.0f32; n_cell];
    let mut cg = vec![0.0f32; n_cell];
    let mut og = vec![0.0f32; n_cell];
    let mut hidden = vec![0.0f32; n_cell];
    for b in 0..n_batch {
        let h = &mut h_state[b * n_output..(b + 1) * n_output];
        let c = &mut c_state[b * n_cell..(b + 1) * n_cell];
        for t in 0..n_time {
            let row = if p.time_major {
                t * n_batch + b
            } else {
                b * n_time + t
            };
            let xin = &xs[row * n_input..(row + 1) * n_input];
            if let Some(g) = &input_gate {
                gate_pre(g, d, xin, h, c, &mut ig);
                ig.iter_mut().for_each(|v| *v = sigmoid(*v));
            }
            gate_pre(&forget_gate, d, xin, h, c, &mut fg);
            fg.iter_mut().for_each(|v| *v = sigmoid(*v));
            gate_pre(&cell_gate, d, xin, h, c, &mut cg);
            cg.iter_mut()
                .for_each(|v| *v = cell_activation(p.activation, *v));
            // New cell state.
            for k in 0..n_cell {
                let i = if cifg { 1.0 - fg[k] } else { ig[k] };
                c[k] = c[k] * fg[k] + cg[k] * i;
                if p.cell_clip > 0.0 {
                    c[k] = c[k].clamp(-p.cell_clip, p.cell_clip);
                }
            }
            gate_pre(&output_gate, d, xin, h, c, &mut og);
            og.iter_mut().for_each(|v| *v = sigmoid(*v));
            for k in 0..n_cell {
                hidden[k] = og[k] * cell_activation(p.activation, c[k]);
            }
            match proj_w {
                Some(w) => {
                    match proj_b {
                        Some(pb) => h.copy_from_slice(pb),
                        None => h.fill(0.0),
                    }
                    matvec_acc(w, n_cell, &hidden, h);
                    if p.proj_clip > 0.0 {
                        h.iter_mut()
                            .for_each(|v| *v = v.clamp(-p.proj_clip, p.proj_clip));
                    }
                }
                None => h.copy_from_slice(&hidden[..n_output]),
            }
            output[row * n_output..(row + 1) * n_output].copy_from_slice(h);
        }
    }
    let h_shape = ctx.input(OUTPUT_STATE)?.shape.clone();
    let c_shape = ctx.input(CELL_STATE)?.shape.clone();
    ctx.variable_writes
        .push((OUTPUT_STATE, Tensor::f32(h_shape, h_state)));
    ctx.variable_writes
        .push((CELL_STATE, Tensor::f32(c_shape, c_state)));
    Ok(vec![Tensor::f32(out_shape, output)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_zero_mean_unit_var() {
        let mut v = [1.0f32, 2.0, 3.0, 4.0];
        mean_stddev_normalize(&mut v);
        let mean: f32 = v.iter().sum::<f32>() / 4.0;
        let var: f32 = v.iter().map(|x| x * x).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6);
        assert!((var - 1.0).abs() < 1e-5);
    }

    #[test]
    fn matvec() {
        let m = [1.0f32, 2.0, 3.0, 4.0];
        let mut out = [10.0f32, 20.0];
        matvec_acc(&m, 2, &[1.0, 1.0], &mut out);
        assert_eq!(out, [13.0, 27.0]);
    }

    #[test]
    fn gate_with_peephole_and_layer_norm() {
        let g = Gate {
            w_in: &[1.0, 0.0],
            w_rec: &[0.5, 0.5],
            peephole: Some(&[2.0, 2.0]),
            bias: &[0.1, 0.2],
            layer_norm: None,
        };
        let d = Dims {
            n_input: 1,
            n_output: 1,
        };
        let mut out = [0.0f32; 2];
        gate_pre(&g, d, &[3.0], &[2.0], &[1.0, -1.0], &mut out);
        assert_eq!(out, [0.1 + 3.0 + 1.0 + 2.0, 0.2 + 0.0 + 1.0 - 2.0]);
    }
}
