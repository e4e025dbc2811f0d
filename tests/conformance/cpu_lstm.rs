//! UNIDIRECTIONAL_SEQUENCE_LSTM on the CPU against a naive f64 LSTM, including
//! the state its variable tensors carry across invokes.

use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Lstm};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Interpreter, Model, Tensor};

fn constant(name: &str, shape: Vec<usize>, values: &[f32]) -> TensorInfo {
    let mut t = TensorInfo::new(name, DType::F32, shape);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.data = Some(Arc::from(bytes));
    t
}

fn w(n: usize, seed: u32) -> Vec<f32> {
    tflite_wgpu::graph::rng::SeededRng::new(seed.into()).signed(n, 0.6)
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

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(plain, lstm_matches_naive_and_keeps_state)]
}
