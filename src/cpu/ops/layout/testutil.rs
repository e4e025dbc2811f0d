//! Helpers that run one op through the CPU engine, for the kernel unit tests.

use crate::error::Result;
use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
use crate::graph::{Data, Tensor};

/// Run `op` on `inputs` with outputs of the given types (and optional quantization).
pub fn run_q(
    op: Op,
    inputs: Vec<Tensor>,
    outs: &[(DType, Option<Quantization>)],
    in_q: &[Option<Quantization>],
) -> Result<Vec<Tensor>> {
    let mut tensors = Vec::new();
    for (i, t) in inputs.iter().enumerate() {
        let mut info = TensorInfo::new(format!("in{i}"), t.dtype(), t.shape.clone());
        info.quantization = in_q.get(i).cloned().flatten();
        tensors.push(info);
    }
    for (i, (d, q)) in outs.iter().enumerate() {
        let mut info = TensorInfo::new(format!("out{i}"), *d, vec![]);
        info.quantization = q.clone();
        tensors.push(info);
    }
    let n = inputs.len();
    let sg = Subgraph {
        tensors,
        nodes: vec![Node {
            op,
            inputs: (0..n).map(Some).collect(),
            outputs: (n..n + outs.len()).collect(),
        }],
        inputs: (0..n).collect(),
        outputs: (n..n + outs.len()).collect(),
        ..Default::default()
    };
    crate::cpu::Reference.run_single(&sg, inputs)
}

/// Run `op` with unquantized outputs of the given types.
pub fn run(op: Op, inputs: Vec<Tensor>, outs: &[DType]) -> Result<Vec<Tensor>> {
    let outs: Vec<_> = outs.iter().map(|&d| (d, None)).collect();
    run_q(op, inputs, &outs, &[])
}

/// An int32 tensor.
pub fn i32t(shape: Vec<usize>, v: Vec<i32>) -> Tensor {
    Tensor::new(shape, Data::I32(v))
}

/// A float tensor holding 0, 1, 2, ... of `shape`.
pub fn iota(shape: Vec<usize>) -> Tensor {
    let n = shape.iter().product::<usize>();
    Tensor::f32(shape, (0..n).map(|i| i as f32).collect())
}

/// The f32 data of a tensor.
pub fn f(t: &Tensor) -> Vec<f32> {
    t.as_f32().map(<[f32]>::to_vec).unwrap_or_default()
}
