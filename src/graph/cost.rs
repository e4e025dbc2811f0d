//! The work of a node read from the graph alone: arithmetic operations (FLOPs) and
//! the fewest bytes a kernel running it must move (each input read once, each
//! output written once), for roofline profiles.
//!
//! Counting rules (one multiply-add is two operations, integer operations of
//! quantized kernels count like float ones):
//! - CONV_2D: `2 * N*OH*OW*OC * KH*KW * IC/groups`; TRANSPOSE_CONV:
//!   `2 * N*IH*IW*IC * KH*KW * OC`; DEPTHWISE_CONV_2D: `2 * N*OH*OW*OC * KH*KW`;
//!   FULLY_CONNECTED: `2 * batch * in * out`; BATCH_MATMUL: `2 * out elements * K`.
//!   A bias adds one operation per output element, a fused activation one more.
//! - Element-wise unary and binary ops, PRELU, ADD_N, casts between float and
//!   quantized (QUANTIZE, DEQUANTIZE): one operation per output element and operand.
//! - Pools: one per window element per output (average and L2 pools one more per
//!   output); reductions and CUMSUM: one per input element (MEAN one more per
//!   output); SOFTMAX and LOG_SOFTMAX: five per element (max, subtract, exp, sum,
//!   divide); L2_NORMALIZATION: three per element; bilinear resize: eight per
//!   output element.
//! - Data movement (reshape, concatenation, pad, slice, transpose, gather, nearest
//!   resize, ...) and ops without a model here: no operations, only bytes.
//!
//! Bytes use a caller-given width per tensor, so the same graph can be costed at
//! the storage precision of wherever it runs (f16 storage halves float tensors).

use super::op::{Activation, Reduce};
use super::{Node, Op, Subgraph, TensorInfo};

/// Operations and minimum bytes moved by one node or one fused group of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// Arithmetic operations (a multiply-add counts two).
    pub flops: f64,
    /// Bytes read and written: each input read once, each output written once.
    pub bytes: f64,
}

impl Cost {
    /// Operations per byte moved (0 when nothing is moved).
    pub fn intensity(&self) -> f64 {
        if self.bytes > 0.0 {
            self.flops / self.bytes
        } else {
            0.0
        }
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            flops: self.flops + o.flops,
            bytes: self.bytes + o.bytes,
        }
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        *self = *self + o;
    }
}

fn elems(sg: &Subgraph, t: Option<usize>) -> f64 {
    t.and_then(|t| sg.tensors.get(t))
        .map_or(0.0, |info| info.num_elements() as f64)
}

fn dims(sg: &Subgraph, t: Option<usize>) -> &[usize] {
    t.and_then(|t| sg.tensors.get(t))
        .map_or(&[], |info| info.shape.as_slice())
}

/// Dimension `i` of `shape` counted from the end (1 when absent).
fn dim_from_end(shape: &[usize], i: usize) -> f64 {
    shape
        .len()
        .checked_sub(i + 1)
        .and_then(|k| shape.get(k))
        .map_or(1.0, |&d| d as f64)
}

/// Arithmetic operations of `node` (see the module documentation for the rules).
pub fn node_flops(sg: &Subgraph, node: &Node) -> f64 {
    let out = elems(sg, node.outputs.first().copied());
    let input = elems(sg, node.input(0));
    let epilogue =
        |bias: bool, act: bool| out * (f64::from(u8::from(bias)) + f64::from(u8::from(act)));
    let has_bias = |i: usize| node.input(i).is_some();
    match &node.op {
        Op::Conv2D(c) => {
            // Filter OHWI: KH * KW * (IC / groups) products per output element.
            let f = dims(sg, node.input(1));
            let taps: f64 = f.iter().skip(1).map(|&d| d as f64).product();
            2.0 * out * taps + epilogue(has_bias(2), c.activation != Activation::None)
        }
        Op::DepthwiseConv2D(c) => {
            // Filter 1HW(I*M): KH * KW products per output element.
            let f = dims(sg, node.input(1));
            let taps = dim_from_end(f, 2) * dim_from_end(f, 1);
            2.0 * out * taps + epilogue(has_bias(2), c.activation != Activation::None)
        }
        Op::TransposeConv(c) | Op::TransposeConvBias(c) => {
            // Filter OHWI: every input element meets KH * KW * OC filter taps.
            let (x, bias) = match node.op {
                Op::TransposeConv(_) => (2, 3),
                _ => (0, 2),
            };
            let f = dims(sg, node.input(1));
            let taps = dim_from_end(f, 3) * dim_from_end(f, 2) * dim_from_end(f, 1);
            2.0 * elems(sg, node.input(x)) * taps
                + epilogue(has_bias(bias), c.activation != Activation::None)
        }
        Op::FullyConnected(c) => {
            // Weights [out, in]: `in` products per output element.
            let k = dim_from_end(dims(sg, node.input(1)), 0);
            2.0 * out * k + epilogue(has_bias(2), c.activation != Activation::None)
        }
        Op::BatchMatMul { adj_x, .. } => {
            let x = dims(sg, node.input(0));
            let k = if *adj_x {
                dim_from_end(x, 1)
            } else {
                dim_from_end(x, 0)
            };
            2.0 * out * k
        }
        Op::Unary(_) | Op::Quantize | Op::Dequantize | Op::Prelu => {
            out * if matches!(node.op, Op::Prelu) {
                2.0
            } else {
                1.0
            }
        }
        Op::Binary(_, act) => out * if *act == Activation::None { 1.0 } else { 2.0 },
        Op::AddN => out * (node.inputs.len().saturating_sub(1)) as f64,
        Op::Select | Op::SelectV2 => out,
        Op::AveragePool2D(p) | Op::L2Pool2D(p) => {
            let window = (p.filter_h * p.filter_w) as f64;
            let per = if matches!(node.op, Op::L2Pool2D(_)) {
                2.0 * window + 1.0
            } else {
                window + 1.0
            };
            out * per
        }
        Op::MaxPool2D(p) | Op::MaxPoolWithArgmax(p) => out * (p.filter_h * p.filter_w) as f64,
        Op::Reduce { kind, .. } => input + if *kind == Reduce::Mean { out } else { 0.0 },
        Op::Cumsum { .. } | Op::ArgMax { .. } | Op::ArgMin { .. } => input,
        Op::Softmax { .. } | Op::LogSoftmax => 5.0 * input,
        Op::L2Normalization(_) => 3.0 * input,
        Op::ResizeBilinear(_) => 8.0 * out,
        _ => 0.0,
    }
}

/// Operations and minimum bytes of a group of nodes run by one kernel (one node, or
/// a head with the nodes fused into it): the inputs the group reads from outside
/// it, once each, and the outputs it writes that no member reads, once each.
/// `width` gives the bytes per element of a tensor where the group runs.
pub fn group_cost(sg: &Subgraph, nodes: &[usize], width: &dyn Fn(&TensorInfo) -> f64) -> Cost {
    let members: Vec<&Node> = nodes.iter().filter_map(|&n| sg.nodes.get(n)).collect();
    let produced: Vec<usize> = members
        .iter()
        .flat_map(|n| n.outputs.iter().copied())
        .collect();
    let mut read: Vec<usize> = members
        .iter()
        .flat_map(|n| n.inputs.iter().flatten().copied())
        .filter(|t| !produced.contains(t))
        .collect();
    read.sort_unstable();
    read.dedup();
    let consumed: Vec<usize> = members
        .iter()
        .flat_map(|n| n.inputs.iter().flatten().copied())
        .collect();
    let mut written: Vec<usize> = produced
        .iter()
        .copied()
        .filter(|t| !consumed.contains(t) || sg.outputs.contains(t))
        .collect();
    written.sort_unstable();
    written.dedup();
    let bytes = read
        .iter()
        .chain(&written)
        .filter_map(|&t| sg.tensors.get(t))
        .map(|info| info.num_elements() as f64 * width(info))
        .sum();
    Cost {
        flops: members.iter().map(|n| node_flops(sg, n)).sum(),
        bytes,
    }
}

/// Operations and minimum bytes of node `n` alone.
pub fn node_cost(sg: &Subgraph, n: usize, width: &dyn Fn(&TensorInfo) -> f64) -> Cost {
    group_cost(sg, &[n], width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Binary, Conv2D, DepthwiseConv2D, FullyConnected};
    use crate::graph::DType;
    use std::sync::Arc;

    fn tensor(shape: &[usize], constant: bool) -> TensorInfo {
        let mut t = TensorInfo::new("t", DType::F32, shape.to_vec());
        if constant {
            t.data = Some(Arc::from(vec![0u8; t.num_elements() * 4]));
        }
        t
    }

    fn four(_: &TensorInfo) -> f64 {
        4.0
    }

    #[test]
    fn conv_counts_two_per_tap_plus_bias_and_activation() {
        // Input 1x8x8x6, two groups of 3 channels, filter 10x3x3x3, output 1x4x4x10.
        let sg = Subgraph {
            tensors: vec![
                tensor(&[1, 8, 8, 6], false),
                tensor(&[10, 3, 3, 3], true),
                tensor(&[10], true),
                tensor(&[1, 4, 4, 10], false),
            ],
            nodes: vec![Node {
                op: Op::Conv2D(Conv2D {
                    stride_h: 2,
                    stride_w: 2,
                    dilation_h: 1,
                    dilation_w: 1,
                    activation: Activation::Relu6,
                    ..Default::default()
                }),
                inputs: vec![Some(0), Some(1), Some(2)],
                outputs: vec![3],
            }],
            ..Default::default()
        };
        let c = node_cost(&sg, 0, &four);
        let (n, oh, ow, oc, kh, kw, ic, groups) = (1.0, 4.0, 4.0, 10.0, 3.0, 3.0, 6.0, 2.0);
        let out = n * oh * ow * oc;
        assert_eq!(
            c.flops,
            2.0 * n * oh * ow * oc * kh * kw * ic / groups + 2.0 * out
        );
        assert_eq!(c.bytes, 4.0 * (384.0 + 270.0 + 10.0 + 160.0));
    }

    #[test]
    fn depthwise_and_dense_follow_their_formulas() {
        let sg = Subgraph {
            tensors: vec![
                tensor(&[1, 5, 5, 4], false),
                tensor(&[1, 3, 3, 8], true),
                tensor(&[1, 5, 5, 8], false),
                tensor(&[3, 7], false),
                tensor(&[11, 7], true),
                tensor(&[3, 11], false),
            ],
            nodes: vec![
                Node {
                    op: Op::DepthwiseConv2D(DepthwiseConv2D {
                        depth_multiplier: 2,
                        ..Default::default()
                    }),
                    inputs: vec![Some(0), Some(1), None],
                    outputs: vec![2],
                },
                Node {
                    op: Op::FullyConnected(FullyConnected::default()),
                    inputs: vec![Some(3), Some(4), None],
                    outputs: vec![5],
                },
            ],
            ..Default::default()
        };
        assert_eq!(node_flops(&sg, &sg.nodes[0]), 2.0 * 200.0 * 9.0);
        assert_eq!(node_flops(&sg, &sg.nodes[1]), 2.0 * 3.0 * 7.0 * 11.0);
        let half = |_: &TensorInfo| 2.0;
        assert_eq!(node_cost(&sg, 1, &half).bytes, 2.0 * (21.0 + 77.0 + 33.0));
    }

    #[test]
    fn a_fused_group_moves_only_what_crosses_its_boundary() {
        // y = x * w; z = y + r: fused, y never reaches memory.
        let sg = Subgraph {
            tensors: vec![
                tensor(&[2, 16], false),
                tensor(&[2, 16], true),
                tensor(&[2, 16], false),
                tensor(&[2, 16], false),
                tensor(&[2, 16], false),
            ],
            nodes: vec![
                Node {
                    op: Op::Binary(Binary::Mul, Activation::None),
                    inputs: vec![Some(0), Some(1)],
                    outputs: vec![2],
                },
                Node {
                    op: Op::Binary(Binary::Add, Activation::Relu),
                    inputs: vec![Some(2), Some(3)],
                    outputs: vec![4],
                },
            ],
            outputs: vec![4],
            ..Default::default()
        };
        let apart = node_cost(&sg, 0, &four) + node_cost(&sg, 1, &four);
        let fused = group_cost(&sg, &[0, 1], &four);
        assert_eq!(fused.flops, apart.flops);
        assert_eq!(fused.flops, 32.0 + 64.0);
        assert_eq!(fused.bytes, 4.0 * 32.0 * 4.0);
        assert_eq!(apart.bytes - fused.bytes, 2.0 * 4.0 * 32.0);
        assert!(fused.intensity() > apart.intensity());
    }
}
