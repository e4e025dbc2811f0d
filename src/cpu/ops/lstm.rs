//! UNIDIRECTIONAL_SEQUENCE_LSTM.

use super::elementwise::check_tensor;
use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::{Activation, Lstm};

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
    crate::cpu::quant::activate(act, x)
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
    use crate::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
    use crate::interpreter::{Interpreter, Model};
    use std::sync::Arc;

    fn constant(name: &str, shape: Vec<usize>, values: &[f32]) -> TensorInfo {
        let mut t = TensorInfo::new(name, DType::F32, shape);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.data = Some(Arc::from(bytes));
        t
    }

    fn w(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 * 2.0 - 1.0) * 0.6
            })
            .collect()
    }

    /// Naive f64 LSTM (no peephole, no projection, no layer norm) over one batch row.
    fn naive(x: &[f32], ni: usize, nc: usize, t: usize, wts: &[Vec<f32>]) -> Vec<f32> {
        let mut h = vec![0.0f64; nc];
        let mut c = vec![0.0f64; nc];
        let mut out = vec![];
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        for step in 0..t {
            let xi = &x[step * ni..(step + 1) * ni];
            let gate = |g: usize| -> Vec<f64> {
                (0..nc)
                    .map(|r| {
                        let mut acc = wts[8 + g][r] as f64;
                        for k in 0..ni {
                            acc += wts[g][r * ni + k] as f64 * xi[k] as f64;
                        }
                        for k in 0..nc {
                            acc += wts[4 + g][r * nc + k] as f64 * h[k];
                        }
                        acc
                    })
                    .collect()
            };
            let (gi, gf, gc, go) = (gate(0), gate(1), gate(2), gate(3));
            for k in 0..nc {
                c[k] = sig(gf[k]) * c[k] + sig(gi[k]) * gc[k].tanh();
                h[k] = sig(go[k]) * c[k].tanh();
            }
            out.extend(h.iter().map(|&v| v as f32));
        }
        out
    }

    #[test]
    fn lstm_matches_naive_and_keeps_state() {
        let (ni, nc, t) = (2usize, 3usize, 4usize);
        let mut tensors = vec![TensorInfo::new("x", DType::F32, vec![1, t, ni])];
        let mut wts = vec![];
        for g in 0..4 {
            let v = w(nc * ni, g as u32 + 1);
            tensors.push(constant(&format!("wi{g}"), vec![nc, ni], &v));
            wts.push(v);
        }
        for g in 0..4 {
            let v = w(nc * nc, g as u32 + 11);
            tensors.push(constant(&format!("wr{g}"), vec![nc, nc], &v));
            wts.push(v);
        }
        for g in 0..4 {
            let v = w(nc, g as u32 + 21);
            tensors.push(constant(&format!("b{g}"), vec![nc], &v));
            wts.push(v);
        }
        let mut hs = TensorInfo::new("h", DType::F32, vec![1, nc]);
        hs.is_variable = true;
        let mut cs = TensorInfo::new("c", DType::F32, vec![1, nc]);
        cs.is_variable = true;
        tensors.push(hs);
        tensors.push(cs);
        tensors.push(TensorInfo::new("y", DType::F32, vec![1, t, nc]));
        let idx = |i: usize| Some(i);
        let mut inputs = vec![idx(0)];
        inputs.extend((1..=8).map(idx));
        inputs.extend([None, None, None]);
        inputs.extend((9..=12).map(idx));
        inputs.extend([None, None, idx(13), idx(14), None, None, None, None]);
        let graph = Graph {
            subgraphs: vec![Subgraph {
                name: "main".into(),
                tensors,
                nodes: vec![Node {
                    op: Op::UnidirectionalSequenceLstm(Lstm {
                        activation: Activation::Tanh,
                        cell_clip: 0.0,
                        proj_clip: 0.0,
                        time_major: false,
                        asymmetric_quantize_inputs: false,
                    }),
                    inputs,
                    outputs: vec![15],
                }],
                inputs: vec![0],
                outputs: vec![15],
            }],
            version: 3,
            ..Default::default()
        };
        let model = Model::from_graph(graph);
        let mut it = Interpreter::new(&model).unwrap();
        let x = w(t * ni, 99);
        it.set_input(0, Tensor::f32(vec![1, t, ni], x.clone()))
            .unwrap();
        it.invoke().unwrap();
        let got = it.output(0).unwrap().as_f32().unwrap().to_vec();
        let want = naive(&x, ni, nc, t, &wts);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        // The state carries over: running the doubled sequence equals two invokes.
        let mut x2 = x.clone();
        x2.extend(&x);
        let want2 = naive(&x2, ni, nc, 2 * t, &wts);
        it.set_input(0, Tensor::f32(vec![1, t, ni], x)).unwrap();
        it.invoke().unwrap();
        let got2 = it.output(0).unwrap().as_f32().unwrap().to_vec();
        for (a, b) in got2.iter().zip(&want2[t * nc..]) {
            assert!((a - b).abs() < 1e-5, "{got2:?} vs {want2:?}");
        }
    }

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
