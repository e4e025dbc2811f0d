//! Run one op through a one-node graph.
use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
use crate::graph::{Data, Tensor};
use std::sync::Arc;

/// A node input: a value, whether it is a model constant, and its quantization.
pub struct In {
    pub t: Tensor,
    pub constant: bool,
    pub q: Option<Quantization>,
}

pub fn rt(t: Tensor) -> In {
    In {
        t,
        constant: false,
        q: None,
    }
}

pub fn cst(t: Tensor) -> In {
    In {
        t,
        constant: true,
        q: None,
    }
}

pub fn q(mut i: In, scale: Vec<f32>, zp: Vec<i64>, axis: usize) -> In {
    i.q = Some(Quantization::per_channel(scale, zp, axis));
    i
}

pub fn rand(n: usize, seed: u64) -> Vec<f32> {
    crate::graph::rng::signed_values(n, seed)
}

pub fn rand_i8(n: usize, seed: u64) -> Vec<i8> {
    rand(n, seed).iter().map(|&v| (v * 127.0) as i8).collect()
}

/// Run `op` with `inputs` (None = omitted); outputs declared as (dtype, shape, quant).
pub fn run(
    op: Op,
    inputs: Vec<Option<In>>,
    outputs: Vec<(DType, Vec<usize>, Option<Quantization>)>,
) -> crate::error::Result<Vec<Tensor>> {
    let mut tensors = Vec::new();
    let mut node_in = Vec::new();
    let mut graph_in = Vec::new();
    let mut feed = Vec::new();
    for i in inputs {
        match i {
            None => node_in.push(None),
            Some(i) => {
                let mut info = TensorInfo::new(
                    format!("t{}", tensors.len()),
                    i.t.dtype(),
                    i.t.shape.clone(),
                );
                info.quantization = i.q;
                if i.constant {
                    info.data = Some(Arc::from(i.t.data.to_bytes()));
                } else {
                    graph_in.push(tensors.len());
                    feed.push(i.t);
                }
                node_in.push(Some(tensors.len()));
                tensors.push(info);
            }
        }
    }
    let mut outs = Vec::new();
    for (d, s, qz) in outputs {
        let mut info = TensorInfo::new(format!("t{}", tensors.len()), d, s);
        info.quantization = qz;
        outs.push(tensors.len());
        tensors.push(info);
    }
    let sg = Subgraph {
        tensors,
        nodes: vec![Node {
            op,
            inputs: node_in,
            outputs: outs.clone(),
        }],
        inputs: graph_in,
        outputs: outs,
        ..Default::default()
    };
    // Twice, with the same result.
    let first = crate::cpu::Reference.run_single(&sg, feed.clone())?;
    let second = crate::cpu::Reference.run_single(&sg, feed)?;
    assert_eq!(first, second);
    Ok(first)
}

pub fn f32s(t: &Tensor) -> Vec<f32> {
    t.as_f32().map(|v| v.to_vec()).unwrap_or_default()
}

pub fn i8t(shape: Vec<usize>, v: Vec<i8>) -> Tensor {
    Tensor::new(shape, Data::I8(v))
}

pub fn i32t(shape: Vec<usize>, v: Vec<i32>) -> Tensor {
    Tensor::new(shape, Data::I32(v))
}

pub fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
    }
}
