//! GPU fusion groups: rewrites of the prepared graph that let one dispatch do the
//! work of several nodes, with the TFLite GPU delegate's conditions. A group is a
//! head (the node that dispatches) plus the nodes it absorbs; no node is removed
//! or renumbered, so node indices, `fp32_nodes` and precision plans keep meaning
//! the same nodes.
//!
//! Every absorbed node's output is read by exactly one node, inside the group, and
//! is not a graph output, so only the group's last output leaves it: contracting
//! a group to one unit keeps the graph acyclic, and scheduling the unit after
//! everything any member reads is a valid order. The rewrites:
//! - a zero PAD of the spatial axes in front of CONV_2D / DEPTHWISE_CONV_2D becomes
//!   top/left padding of the convolution's input read (bottom/right padding is
//!   the read past the input's end, zero too). Pooling does not absorb PADs: the
//!   pads' zeros would join MAX_POOL_2D's maximum and AVERAGE_POOL_2D's count,
//!   which TFLite's own pooling padding never does;
//! - after a CONV_2D, up to [`MAX_STEPS`] element-wise ops in a chain: ADD, SUB
//!   and MUL with a tensor of the output's shape (a residual, whichever operand
//!   the chain is), one value per channel or one value, PRELU, and LOGISTIC,
//!   TANH, HARD_SWISH, ELU; each applies its own fused activation;
//! - a DEPTHWISE_CONV_2D followed by a 1x1 CONV_2D reading only its output
//!   (TFLite's DepthwiseConvPlus1x1Conv, when `dw_pointwise::fits`), then the
//!   1x1 convolution's steps as above (on a GPU a wide pair lowers as two
//!   dispatches, the steps in the 1x1 convolution's epilogue);
//! - a residual operand that is a channel PAD (zeros after the last channel) of a
//!   tensor, or of a 2x2 stride-2 MAX_POOL_2D of it (BlazeFace's blocks), is read
//!   inside the step with index math, and the PAD and MAX_POOL_2D disappear.

use crate::gpu::ops::conv::dw_pointwise;
use crate::gpu::ops::epilogue::{Fused, InputPad, Operand, Step, StepOp, MAX_STEPS};
use crate::graph::op::{Activation, Binary, Unary};
use crate::graph::{DType, Op, Subgraph};

/// A head node and the nodes fused into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The node that dispatches (its index names the group in profiles and
    /// overflow flags).
    pub head: usize,
    /// Every node of the group, the head included, in a topological order.
    pub members: Vec<usize>,
    /// What the head absorbs.
    pub(crate) fused: Fused,
}

/// Where each tensor is produced and who reads it.
struct Uses {
    producer: Vec<Option<usize>>,
    readers: Vec<Vec<usize>>,
}

impl Uses {
    fn of(sg: &Subgraph) -> Uses {
        let mut producer = vec![None; sg.tensors.len()];
        let mut readers = vec![Vec::new(); sg.tensors.len()];
        for (n, node) in sg.nodes.iter().enumerate() {
            for &t in &node.outputs {
                if let Some(p) = producer.get_mut(t) {
                    *p = Some(n);
                }
            }
            for &t in node.inputs.iter().flatten() {
                if let Some(r) = readers.get_mut(t) {
                    r.push(n);
                }
            }
        }
        Uses { producer, readers }
    }
}

/// The search state: which nodes may join which class, and which are taken.
struct Search<'a> {
    sg: &'a Subgraph,
    uses: Uses,
    class: &'a [Option<u8>],
    escapes: &'a dyn Fn(usize) -> bool,
    taken: Vec<bool>,
}

impl Search<'_> {
    fn plain_float(&self, t: usize) -> bool {
        let info = &self.sg.tensors[t];
        info.dtype == DType::F32 && info.quantization.is_none()
    }

    /// The node producing `t` when `t` is an intermediate it may absorb: float,
    /// read only by `reader` (once), not leaving the graph or the partition, and
    /// produced by a free node of class `c`.
    fn absorbable(&self, t: usize, reader: usize, c: u8) -> Option<usize> {
        if !self.plain_float(t) || (self.escapes)(t) || self.sg.tensors[t].is_constant() {
            return None;
        }
        if self.uses.readers.get(t)? != &[reader] {
            return None;
        }
        let p = self.uses.producer.get(t).copied().flatten()?;
        (self.class[p] == Some(c) && !self.taken[p] && self.sg.nodes[p].outputs.len() == 1)
            .then_some(p)
    }

    /// The constant zero-padding amounts of PAD node `n` as (before, after) per
    /// axis, when it pads with zeros (PAD, or PADV2 with a zero constant).
    fn zero_pads(&self, n: usize) -> Option<Vec<(usize, usize)>> {
        let node = &self.sg.nodes[n];
        match node.op {
            Op::Pad => {}
            Op::PadV2 => {
                let v = node.input(2)?;
                let info = &self.sg.tensors[v];
                let zero = info.dtype == DType::F32
                    && info.data.as_ref()?.iter().all(|&b| b == 0)
                    && info.num_elements() == 1;
                if !zero {
                    return None;
                }
            }
            _ => return None,
        }
        let x = node.input(0)?;
        if !self.plain_float(x) {
            return None;
        }
        let info = &self.sg.tensors[node.input(1)?];
        let v = crate::gpu::ops::const_ints(info).ok()?;
        let rank = self.sg.tensors[x].shape.len();
        if v.len() != rank * 2 {
            return None;
        }
        v.chunks_exact(2)
            .map(|p| Some((usize::try_from(p[0]).ok()?, usize::try_from(p[1]).ok()?)))
            .collect()
    }

    /// A zero PAD of only the spatial axes of a 4-D tensor feeding `head` as `t`.
    fn input_pad(&self, t: usize, head: usize, c: u8) -> Option<(usize, InputPad)> {
        let p = self.absorbable(t, head, c)?;
        let pads = self.zero_pads(p)?;
        let [b, (top, _), (left, _), ch] = pads[..] else {
            return None;
        };
        if b != (0, 0) || ch != (0, 0) {
            return None;
        }
        let tensor = self.sg.nodes[p].input(0)?;
        Some((p, InputPad { tensor, top, left }))
    }

    /// A residual operand `t` of `reader` that is a channel PAD, a 2x2 stride-2
    /// MAX_POOL_2D, or a channel PAD of one, of a 4-D tensor: the nodes absorbed
    /// and the operand read instead.
    fn source(
        &self,
        t: usize,
        reader: usize,
        c: u8,
        out: &[usize],
    ) -> Option<(Vec<usize>, Operand)> {
        let mut absorbed = Vec::new();
        let mut cur = t;
        let mut node = self.absorbable(cur, reader, c)?;
        if let Some(pads) = self.zero_pads(node) {
            let [(0, 0), (0, 0), (0, 0), (0, _)] = pads[..] else {
                return None;
            };
            absorbed.push(node);
            cur = self.sg.nodes[node].input(0)?;
            match self.absorbable(cur, node, c) {
                Some(p) => node = p,
                None => {
                    return Some((
                        absorbed,
                        Operand::Source {
                            tensor: cur,
                            pool: false,
                        },
                    ));
                }
            }
        }
        let Op::MaxPool2D(pool) = &self.sg.nodes[node].op else {
            return (!absorbed.is_empty()).then_some((
                absorbed,
                Operand::Source {
                    tensor: cur,
                    pool: false,
                },
            ));
        };
        let window = pool.filter_h == 2
            && pool.filter_w == 2
            && pool.stride_h == 2
            && pool.stride_w == 2
            && pool.activation == Activation::None;
        let x = self.sg.nodes[node].input(0)?;
        let [n, h, w, _] = self.sg.tensors[x].shape[..] else {
            return None;
        };
        let [on, oh, ow, _] = out[..] else {
            return None;
        };
        // 2x2 stride 2 windows start at 2y, 2x for VALID and SAME padding alike.
        if !window || !self.plain_float(x) || n != on || h.div_ceil(2) < oh || w.div_ceil(2) < ow {
            return None;
        }
        absorbed.push(node);
        Some((
            absorbed,
            Operand::Source {
                tensor: x,
                pool: true,
            },
        ))
    }

    /// The operand of a step whose other input is `o`, for output shape `out`.
    fn operand(
        &self,
        o: usize,
        reader: usize,
        c: u8,
        out: &[usize],
        first: bool,
    ) -> Option<(Vec<usize>, Operand)> {
        let info = &self.sg.tensors[o];
        if !self.plain_float(o) {
            return None;
        }
        if first && out.len() == 4 && info.shape == out {
            if let Some(s) = self.source(o, reader, c, out) {
                let Operand::Source { tensor, .. } = s.1 else {
                    return None;
                };
                let shape = &self.sg.tensors[tensor].shape;
                if shape.len() == 4 && shape[3] <= out[3] {
                    return Some(s);
                }
                return None;
            }
        }
        if info.shape == out {
            return Some((Vec::new(), Operand::Same(o)));
        }
        let channels = out.last().copied().unwrap_or(0);
        let n = info.num_elements();
        let leading_ones =
            info.shape.len() <= out.len() && info.shape.iter().rev().skip(1).all(|&d| d == 1);
        if n == 1 && info.shape.len() <= out.len() {
            return Some((Vec::new(), Operand::Scalar(o)));
        }
        if leading_ones && info.shape.last() == Some(&channels) {
            return Some((Vec::new(), Operand::Channel(o)));
        }
        None
    }

    /// The element-wise step `r` absorbs when it reads the chain's value `cur`.
    fn step(&self, r: usize, cur: usize, c: u8, first: bool) -> Option<(Vec<usize>, Step)> {
        let node = &self.sg.nodes[r];
        let out = node.outputs.first().copied()?;
        let out_shape = &self.sg.tensors[out].shape;
        if !self.plain_float(out) || out_shape != &self.sg.tensors[cur].shape {
            return None;
        }
        if let Op::Unary(u) = &node.op {
            let op = match u {
                Unary::Logistic => StepOp::Logistic,
                Unary::Tanh => StepOp::Tanh,
                Unary::HardSwish => StepOp::HardSwish,
                Unary::Elu => StepOp::Elu,
                _ => return None,
            };
            let step = Step {
                op,
                operand: Operand::None,
                activation: Activation::None,
                node: r,
            };
            return (node.inputs.len() == 1).then_some((Vec::new(), step));
        }
        let (a, b) = (node.input(0)?, node.input(1)?);
        if node.inputs.len() != 2 || a == b {
            return None;
        }
        let (other, cur_first) = if a == cur { (b, true) } else { (a, false) };
        let (op, activation) = match node.op {
            Op::Binary(Binary::Add, act) => (StepOp::Add, act),
            Op::Binary(Binary::Mul, act) => (StepOp::Mul, act),
            Op::Binary(Binary::Sub, act) if cur_first => (StepOp::Sub, act),
            Op::Binary(Binary::Sub, act) => (StepOp::RSub, act),
            Op::Prelu if cur_first => (StepOp::Prelu, Activation::None),
            _ => return None,
        };
        activation.range()?;
        let (absorbed, operand) = self.operand(other, r, c, out_shape, first)?;
        Some((
            absorbed,
            Step {
                op,
                operand,
                activation,
                node: r,
            },
        ))
    }

    /// The group headed by `h`, if `h` absorbs anything.
    fn group(&mut self, h: usize) -> Option<Group> {
        let c = self.class[h]?;
        let node = &self.sg.nodes[h];
        let mut conv = matches!(node.op, Op::Conv2D(_));
        if !conv && !matches!(node.op, Op::DepthwiseConv2D(_)) {
            return None;
        }
        let mut members = Vec::new();
        let mut fused = Fused::default();
        if let Some((p, pad)) = node.input(0).and_then(|x| self.input_pad(x, h, c)) {
            members.push(p);
            fused.input_pad = Some(pad);
        }
        members.push(h);
        let mut cur = *node.outputs.first()?;
        // A depthwise convolution computes the 1x1 convolution reading it too.
        if !conv {
            let pw = self.uses.readers.get(cur).and_then(|r| match r[..] {
                [pw] => self.absorbable(cur, pw, c).map(|_| pw),
                _ => None,
            });
            if let Some(pw) = pw.filter(|&pw| {
                self.class[pw] == Some(c) && !self.taken[pw] && dw_pointwise::fits(self.sg, h, pw)
            }) {
                members.push(pw);
                fused.pointwise = Some(pw);
                cur = *self.sg.nodes[pw].outputs.first()?;
                fused.output = Some(cur);
                conv = true;
            }
        }
        while conv && fused.steps.len() < MAX_STEPS && self.plain_float(cur) && !(self.escapes)(cur)
        {
            let [r] = self.uses.readers.get(cur)?[..] else {
                break;
            };
            if self.class[r] != Some(c) || self.taken[r] {
                break;
            }
            let Some((absorbed, step)) = self.step(r, cur, c, fused.steps.is_empty()) else {
                break;
            };
            // Absorbed operand nodes were found from the step backwards.
            members.extend(absorbed.into_iter().rev());
            members.push(r);
            fused.steps.push(step);
            cur = *self.sg.nodes[r].outputs.first()?;
            fused.output = Some(cur);
        }
        if members.len() == 1 {
            return None;
        }
        for &m in &members {
            self.taken[m] = true;
        }
        Some(Group {
            head: h,
            members,
            fused,
        })
    }
}

/// The fusion groups of `sg`: heads in index order, each absorbing what it can.
/// `class[n]` is None for a node that must not join any group (it runs on the
/// CPU) and otherwise a class that every member of a group shares (a precision);
/// `escapes(t)` says whether tensor `t` is needed outside (a graph or partition
/// output), which keeps it from being fused away.
pub fn find_groups(
    sg: &Subgraph,
    class: &[Option<u8>],
    escapes: &dyn Fn(usize) -> bool,
) -> Vec<Group> {
    let mut s = Search {
        sg,
        uses: Uses::of(sg),
        class,
        escapes,
        taken: vec![false; sg.nodes.len()],
    };
    (0..sg.nodes.len().min(class.len()))
        .filter_map(|h| if s.taken[h] { None } else { s.group(h) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Conv2D, Padding, Pool2D};
    use crate::graph::{Node, TensorInfo};
    use std::sync::Arc;

    fn constant(name: &str, dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> TensorInfo {
        let mut t = TensorInfo::new(name, dtype, shape);
        t.data = Some(Arc::from(bytes));
        t
    }

    fn ints(name: &str, v: &[i32]) -> TensorInfo {
        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        constant(name, DType::I32, vec![v.len() / 2, 2], bytes)
    }

    fn node(op: Op, inputs: &[usize], output: usize) -> Node {
        Node {
            op,
            inputs: inputs.iter().map(|&t| Some(t)).collect(),
            outputs: vec![output],
        }
    }

    fn conv() -> Op {
        Op::Conv2D(Conv2D {
            padding: Padding::Valid,
            stride_w: 1,
            stride_h: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        })
    }

    /// x -PAD-> p -CONV-> c; s -MAX_POOL(2x2/2, relu)-> m -PADV2(1.0)-> q;
    /// ADD(c, q): the spatial PAD is absorbed, the pooled and padded operand is
    /// not (a pool with an activation, a pad with ones), so it is read as is.
    #[test]
    fn only_equivalent_pads_and_pools_are_absorbed() {
        let f = |n: &str, s: Vec<usize>| TensorInfo::new(n, DType::F32, s);
        let tensors = vec![
            f("x", vec![1, 3, 3, 2]),                                        // 0
            ints("pads", &[0, 0, 1, 0, 0, 1, 0, 0]),                         // 1
            f("p", vec![1, 4, 4, 2]),                                        // 2
            constant("w", DType::F32, vec![4, 1, 1, 2], vec![0; 32]),        // 3
            f("c", vec![1, 4, 4, 4]),                                        // 4
            f("s", vec![1, 8, 8, 2]),                                        // 5
            f("m", vec![1, 4, 4, 2]),                                        // 6
            ints("cpads", &[0, 0, 0, 0, 0, 0, 0, 2]),                        // 7
            constant("one", DType::F32, vec![1], 1f32.to_le_bytes().into()), // 8
            f("q", vec![1, 4, 4, 4]),                                        // 9
            f("y", vec![1, 4, 4, 4]),                                        // 10
        ];
        let pool = Op::MaxPool2D(Pool2D {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 2,
            filter_w: 2,
            filter_h: 2,
            activation: Activation::Relu,
        });
        let sg = Subgraph {
            name: "g".into(),
            tensors,
            nodes: vec![
                node(Op::Pad, &[0, 1], 2),
                node(conv(), &[2, 3], 4),
                node(pool, &[5], 6),
                node(Op::PadV2, &[6, 7, 8], 9),
                node(Op::Binary(Binary::Add, Activation::None), &[4, 9], 10),
            ],
            inputs: vec![0, 5],
            outputs: vec![10],
        };
        let class = vec![Some(0); sg.nodes.len()];
        let groups = find_groups(&sg, &class, &|t| sg.outputs.contains(&t));
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!((g.head, &g.members[..]), (1, &[0, 1, 4][..]));
        assert_eq!(
            g.fused.input_pad,
            Some(InputPad {
                tensor: 0,
                top: 1,
                left: 0
            })
        );
        assert_eq!(g.fused.steps.len(), 1);
        assert_eq!(g.fused.steps[0].operand, Operand::Same(9));
        assert_eq!(g.fused.output, Some(10));

        // The same graph with the ADD on another class: only the PAD fuses.
        let mut class = class;
        class[4] = Some(1);
        let groups = find_groups(&sg, &class, &|t| sg.outputs.contains(&t));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, vec![0, 1]);
        assert!(groups[0].fused.steps.is_empty());
    }
}
