//! Fusion. Two kinds:
//! - a clamping activation (RELU, RELU6, RELU_N1_TO_1) folded into the float op
//!   that produces its input, as the TFLite GPU delegate does, on both devices
//!   (the prepared graph loses the activation node, so node indices agree between
//!   CPU and GPU runs);
//! - GPU fusion groups ([`groups`]): a head node plus the nodes whose work it
//!   absorbs (a zero PAD in front, element-wise ops after), found over the
//!   prepared graph without removing or renumbering nodes, before partitioning.

mod groups;

pub use groups::{find_groups, Group};

use crate::graph::op::{Activation, Unary};
use crate::graph::{DType, Graph, Op, Subgraph};

fn activation_of(u: &Unary) -> Option<Activation> {
    match u {
        Unary::Relu => Some(Activation::Relu),
        Unary::Relu6 => Some(Activation::Relu6),
        Unary::ReluN1To1 => Some(Activation::ReluN1To1),
        _ => None,
    }
}

/// The fused-activation slot of an op, when it has one.
fn activation_slot(op: &mut Op) -> Option<&mut Activation> {
    match op {
        Op::Binary(_, a) => Some(a),
        Op::Conv2D(p) => Some(&mut p.activation),
        Op::DepthwiseConv2D(p) => Some(&mut p.activation),
        Op::TransposeConv(p) => Some(&mut p.activation),
        Op::FullyConnected(p) => Some(&mut p.activation),
        Op::Concatenation { activation, .. } => Some(activation),
        Op::AveragePool2D(p) | Op::MaxPool2D(p) => Some(&mut p.activation),
        _ => None,
    }
}

fn is_plain_float(sg: &Subgraph, t: usize) -> bool {
    let info = &sg.tensors[t];
    info.dtype == DType::F32 && info.quantization.is_none()
}

/// Fuse activations in the main subgraph; returns the number of nodes removed.
pub fn fuse_activations(graph: &mut Graph) -> usize {
    let Some(sg) = graph.subgraphs.first_mut() else {
        return 0;
    };
    let mut removed = 0;
    loop {
        let mut found = None;
        for (b, node) in sg.nodes.iter().enumerate() {
            let Op::Unary(u) = &node.op else { continue };
            let Some(act) = activation_of(u) else {
                continue;
            };
            let (Some(x), Some(&y)) = (node.input(0), node.outputs.first()) else {
                continue;
            };
            if !is_plain_float(sg, x) || !is_plain_float(sg, y) || sg.outputs.contains(&x) {
                continue;
            }
            let readers = sg
                .nodes
                .iter()
                .filter(|n| n.inputs.contains(&Some(x)))
                .count();
            if readers != 1 {
                continue;
            }
            let Some(a) = sg.nodes.iter().position(|n| n.outputs == [x]) else {
                continue;
            };
            let mut op = sg.nodes[a].op.clone();
            if matches!(activation_slot(&mut op).map(|s| *s), Some(Activation::None)) {
                found = Some((a, b, act, y));
                break;
            }
        }
        let Some((a, b, act, y)) = found else {
            return removed;
        };
        if let Some(slot) = activation_slot(&mut sg.nodes[a].op) {
            *slot = act;
        }
        sg.nodes[a].outputs = vec![y];
        sg.nodes.remove(b);
        removed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::Binary;
    use crate::graph::{Node, TensorInfo};

    #[test]
    fn relu_after_add_is_fused() {
        let t = |n: &str| TensorInfo::new(n, DType::F32, vec![4]);
        let mut g = Graph {
            subgraphs: vec![Subgraph {
                name: "g".into(),
                tensors: vec![t("a"), t("b"), t("s"), t("y")],
                nodes: vec![
                    Node {
                        op: Op::Binary(Binary::Add, Activation::None),
                        inputs: vec![Some(0), Some(1)],
                        outputs: vec![2],
                    },
                    Node {
                        op: Op::Unary(Unary::Relu6),
                        inputs: vec![Some(2)],
                        outputs: vec![3],
                    },
                ],
                inputs: vec![0, 1],
                outputs: vec![3],
            }],
            ..Default::default()
        };
        assert_eq!(fuse_activations(&mut g), 1);
        let sg = &g.subgraphs[0];
        assert_eq!(sg.nodes.len(), 1);
        assert_eq!(sg.nodes[0].op, Op::Binary(Binary::Add, Activation::Relu6));
        assert_eq!(sg.nodes[0].outputs, vec![3]);
    }
}
