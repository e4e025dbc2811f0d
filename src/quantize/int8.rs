//! Full integer quantization: integer activations from calibrated ranges (int8, or
//! int16 in the 16x8 scheme), symmetric per-channel int8 weights, int32 (int64 in
//! 16x8) biases, and the output parameters LiteRT's integer kernels require. Ops
//! without an integer kernel in the scheme stay float between DEQUANTIZE and
//! QUANTIZE.

use super::scheme::{OutParams, Scheme};
use super::weights::{const_f32, consumers, i8_bytes, symmetric_int8, weight_slot};
use super::IoType;
use crate::error::Result;
use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
use std::collections::{HashMap, HashSet};

/// Builds the integer subgraph node by node, keeping for each original tensor the
/// index of its float and of its integer form.
struct Builder<'a> {
    src: &'a Subgraph,
    sg: Subgraph,
    scheme: Scheme,
    params: Vec<Option<(f32, i64)>>,
    float_of: Vec<Option<usize>>,
    int_of: Vec<Option<usize>>,
    /// Copies of activations with other parameters than their own:
    /// (tensor, scale bits, zero point) to the copy.
    requantized: HashMap<(usize, u32, i64), usize>,
}

impl Builder<'_> {
    fn push_tensor(&mut self, info: TensorInfo) -> usize {
        self.sg.tensors.push(info);
        self.sg.tensors.len() - 1
    }

    fn emit(&mut self, op: Op, input: usize, output: usize) {
        self.sg.nodes.push(Node {
            op,
            inputs: vec![Some(input)],
            outputs: vec![output],
        });
    }

    /// A new activation tensor shaped as `t`, of the scheme's type with `(scale,
    /// zp)`, named after `t` with `suffix`.
    fn int_tensor(&mut self, t: usize, suffix: &str, (scale, zp): (f32, i64)) -> usize {
        let mut info = TensorInfo::new(
            format!("{}_{suffix}", self.src.tensors[t].name),
            self.scheme.dtype(),
            self.src.tensors[t].shape.clone(),
        );
        info.shape_signature = self.src.tensors[t].shape_signature.clone();
        info.quantization = Some(Quantization::per_tensor(scale, zp));
        self.push_tensor(info)
    }

    /// The integer form of activation `t`, quantized from its float form when needed.
    fn int(&mut self, t: usize) -> usize {
        if let Some(q) = self.int_of[t] {
            return q;
        }
        let p = self.params[t].unwrap_or(self.scheme.fallback());
        let f = self.float_of[t].unwrap_or(t);
        let q = self.int_tensor(t, self.scheme.name(), p);
        self.emit(Op::Quantize, f, q);
        self.int_of[t] = Some(q);
        q
    }

    /// The integer form of activation `t` with exactly the parameters `p`: its own
    /// integer form when that has them, else a copy made by QUANTIZE from its
    /// integer form (a requantization) or from its float form.
    fn int_as(&mut self, t: usize, p: (f32, i64)) -> usize {
        if let Some(q) = self.int_of[t] {
            if self.params[t] == Some(p) {
                return q;
            }
        }
        let key = (t, p.0.to_bits(), p.1);
        if let Some(&q) = self.requantized.get(&key) {
            return q;
        }
        let from = match self.int_of[t] {
            Some(q) => q,
            None => self.float_of[t].unwrap_or(t),
        };
        let q = self.int_tensor(t, "requantized", p);
        self.emit(Op::Quantize, from, q);
        self.requantized.insert(key, q);
        q
    }

    /// The float form of activation `t`, dequantized from its integer form when needed.
    fn float(&mut self, t: usize) -> usize {
        if let Some(f) = self.float_of[t] {
            return f;
        }
        let q = self.int_of[t].unwrap_or(t);
        let mut info = TensorInfo::new(
            format!("{}_float", self.src.tensors[t].name),
            DType::F32,
            self.src.tensors[t].shape.clone(),
        );
        info.shape_signature = self.src.tensors[t].shape_signature.clone();
        let f = self.push_tensor(info);
        self.emit(Op::Dequantize, q, f);
        self.float_of[t] = Some(f);
        f
    }

    /// A quantized copy of constant `t` in place of the float one (in place when
    /// this node is its only reader).
    fn constant(&mut self, t: usize, only_reader: bool, info: TensorInfo) -> usize {
        if only_reader {
            self.sg.tensors[t] = info;
            t
        } else {
            self.push_tensor(info)
        }
    }
}

/// A node left float: (index, op name, reason).
pub(crate) type FloatNode = (usize, String, String);

/// The reason of nodes without float activations (not listed as left float).
/// The scheme as the reasons name it.
fn kernel_name(scheme: &Scheme) -> &'static str {
    match scheme {
        Scheme::Int8 => "int8",
        Scheme::Int16x8 => "int16x8",
    }
}

/// Why a node stays float in an integer pass (the report lists all but
/// [`StaysFloat::NotFloat`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StaysFloat {
    /// It computes nothing in float (integer data, or only constants in).
    #[error("not a float op")]
    NotFloat,
    /// The user kept it float.
    #[error("kept float")]
    Kept,
    /// WHILE or IF: the values it passes stay float.
    #[error("control flow: the values it passes stay float, its subgraphs are quantized inside")]
    ControlFlow,
    /// LiteRT has no kernel of the scheme for the op.
    #[error("no {} kernel", kernel_name(.0))]
    NoKernel(Scheme),
    /// A float activation it reads or writes was never calibrated.
    #[error("tensor {0} has no calibrated range")]
    Uncalibrated(String),
}

/// Whether node `n` can run in the integer `scheme`: a kernel, not kept float, and
/// every float activation input calibrated. Err gives the reason it stays float.
fn int_ok(
    src: &Subgraph,
    n: usize,
    ranges: &[Option<(f32, f32)>],
    keep: &HashSet<usize>,
    scheme: Scheme,
) -> Result<(), StaysFloat> {
    let node = &src.nodes[n];
    let float_in = node
        .inputs
        .iter()
        .flatten()
        .any(|&t| src.tensors[t].dtype == DType::F32 && !src.tensors[t].is_constant());
    if !float_in {
        return Err(StaysFloat::NotFloat);
    }
    if keep.contains(&n) {
        return Err(StaysFloat::Kept);
    }
    if matches!(node.op, Op::While { .. } | Op::If { .. }) {
        return Err(StaysFloat::ControlFlow);
    }
    if scheme.rule(&node.op).is_none() {
        return Err(StaysFloat::NoKernel(scheme));
    }
    if !node
        .outputs
        .iter()
        .all(|&o| src.tensors[o].dtype == DType::F32)
    {
        return Err(StaysFloat::NotFloat);
    }
    for t in node.inputs.iter().flatten().chain(&node.outputs) {
        let info = &src.tensors[*t];
        let calibrated = ranges.get(*t).is_some_and(Option::is_some);
        if info.dtype == DType::F32 && !info.is_constant() && !calibrated {
            return Err(StaysFloat::Uncalibrated(info.name.clone()));
        }
    }
    Ok(())
}

/// Quantize `src` to full integer in `scheme` with the calibrated `ranges` of its
/// tensors. Returns the new subgraph (original tensors keep their indices) and the
/// nodes that stayed float with the reason.
pub(crate) fn full_integer(
    src: &Subgraph,
    ranges: &[Option<(f32, f32)>],
    keep: &HashSet<usize>,
    io: IoType,
    scheme: Scheme,
) -> Result<(Subgraph, Vec<FloatNode>)> {
    let n_tensors = src.tensors.len();
    let mut b = Builder {
        src,
        sg: Subgraph {
            nodes: Vec::new(),
            ..src.clone()
        },
        scheme,
        params: (0..n_tensors)
            .map(|t| {
                ranges
                    .get(t)
                    .copied()
                    .flatten()
                    .map(|(lo, hi)| scheme.params(lo, hi))
            })
            .collect(),
        float_of: vec![None; n_tensors],
        int_of: vec![None; n_tensors],
        requantized: HashMap::new(),
    };
    for t in 0..n_tensors {
        if src.tensors[t].is_constant() || src.tensors[t].dtype != DType::F32 {
            b.float_of[t] = Some(t);
        }
    }
    for &t in &src.inputs {
        let info = &mut b.sg.tensors[t];
        match (io, b.params[t]) {
            (IoType::Float, _) | (_, None) => b.float_of[t] = Some(t),
            (IoType::Int8 | IoType::Int16, Some((s, z))) => {
                info.dtype = scheme.dtype();
                info.quantization = Some(Quantization::per_tensor(s, z));
                b.int_of[t] = Some(t);
            }
            (IoType::Uint8, Some((s, z))) => {
                info.dtype = DType::U8;
                info.quantization = Some(Quantization::per_tensor(s, z + 128));
                b.float_of[t] = Some(t);
                let mut q = info.clone();
                q.name = format!("{}_int8", q.name);
                q.dtype = DType::I8;
                q.quantization = Some(Quantization::per_tensor(s, z));
                let q = b.push_tensor(q);
                b.emit(Op::Quantize, t, q);
                b.int_of[t] = Some(q);
            }
        }
    }
    let readers = consumers(src);
    let mut left_float = Vec::new();
    for (n, node) in src.nodes.iter().enumerate() {
        match int_ok(src, n, ranges, keep, scheme) {
            Ok(()) => int_node(&mut b, node, &readers),
            Err(why) => {
                if why != StaysFloat::NotFloat {
                    left_float.push((n, node.op.name().to_string(), why.to_string()));
                }
                let mut node = node.clone();
                for t in node.inputs.iter_mut().flatten() {
                    *t = b.float(*t);
                }
                for &o in &node.outputs {
                    b.float_of[o] = Some(o);
                }
                b.sg.nodes.push(node);
            }
        }
    }
    let outputs = src.outputs.clone();
    b.sg.outputs = outputs
        .iter()
        .map(|&t| interface_output(&mut b, t, io))
        .collect();
    drop_unread_constants(&mut b.sg);
    Ok((b.sg, left_float))
}

/// The tensor that holds model output `t` in the interface type.
fn interface_output(b: &mut Builder, t: usize, io: IoType) -> usize {
    if src_is_float(b, t) && io != IoType::Float && b.params[t].is_some() {
        let q = b.int(t);
        return match io {
            IoType::Uint8 => {
                let mut info = b.sg.tensors[q].clone();
                info.dtype = DType::U8;
                info.name = format!("{}_uint8", b.src.tensors[t].name);
                if let Some(qp) = info.quantization.as_mut() {
                    qp.zero_point = qp.zero_point.iter().map(|z| z + 128).collect();
                }
                let u = b.push_tensor(info);
                b.emit(Op::Quantize, q, u);
                u
            }
            _ => q,
        };
    }
    let f = b.float(t);
    if f != t {
        let name = b.src.tensors[t].name.clone();
        b.sg.tensors[t].name = format!("{name}_{}", b.scheme.name());
        b.sg.tensors[f].name = name;
    }
    f
}

fn src_is_float(b: &Builder, t: usize) -> bool {
    b.src.tensors[t].dtype == DType::F32
}

/// Clear the data of constants no node reads any more (float weights replaced by
/// quantized copies).
fn drop_unread_constants(sg: &mut Subgraph) {
    let read: HashSet<usize> = sg
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter().flatten().copied())
        .collect();
    for (t, info) in sg.tensors.iter_mut().enumerate() {
        if info.data.is_some() && !read.contains(&t) && !sg.outputs.contains(&t) {
            info.data = None;
        }
    }
}

/// The bias of a convolution or FULLY_CONNECTED (`values`) in the scheme's bias
/// type, at scale input scale x weight scale per channel.
fn quantized_bias(
    info: &TensorInfo,
    values: &[f32],
    in_scale: f64,
    wq: &Quantization,
    dtype: DType,
) -> TensorInfo {
    let scale_at = |c: usize| in_scale * wq.scale_at(c) as f64;
    let channels = if wq.is_per_channel() { values.len() } else { 1 };
    let scales: Vec<f32> = (0..channels.max(1)).map(|c| scale_at(c) as f32).collect();
    let level = |(c, &v): (usize, &f32)| (v as f64 / scale_at(c)).round();
    // The bias type is I64 (16x8) or I32.
    let bytes: Vec<u8> = match dtype {
        DType::I64 => values
            .iter()
            .enumerate()
            .map(level)
            .flat_map(|q| (q.clamp(i64::MIN as f64, i64::MAX as f64) as i64).to_le_bytes())
            .collect(),
        _ => values
            .iter()
            .enumerate()
            .map(level)
            .flat_map(|q| (q.clamp(i32::MIN as f64, i32::MAX as f64) as i32).to_le_bytes())
            .collect(),
    };
    let mut qinfo = info.clone();
    qinfo.dtype = dtype;
    qinfo.data = Some(bytes.into());
    let zero_points = vec![0; scales.len()];
    qinfo.quantization = Some(Quantization::per_channel(scales, zero_points, 0));
    qinfo
}

/// A constant data input (not a weight or bias) as an activation of the scheme with
/// parameters `shared`, or its own range's.
fn quantized_constant(
    info: &TensorInfo,
    values: &[f32],
    shared: Option<(f32, i64)>,
    scheme: Scheme,
) -> TensorInfo {
    let (lo, hi) = values
        .iter()
        .fold((0f32, 0f32), |(a, z), &v| (a.min(v), z.max(v)));
    let (s, z) = shared.unwrap_or_else(|| scheme.params(lo, hi));
    let (min, max) = scheme.levels();
    let levels = values
        .iter()
        .map(|&v| ((v / s).round() + z as f32).clamp(min, max));
    let mut qinfo = info.clone();
    qinfo.dtype = scheme.dtype();
    qinfo.data = Some(match scheme {
        Scheme::Int8 => i8_bytes(&levels.map(|l| l as i8).collect::<Vec<_>>()),
        Scheme::Int16x8 => levels
            .flat_map(|l| (l as i16).to_le_bytes())
            .collect::<Vec<u8>>()
            .into(),
    });
    qinfo.quantization = Some(Quantization::per_tensor(s, z));
    qinfo
}

/// Emit `node` in the integer scheme.
fn int_node(b: &mut Builder, node: &Node, readers: &[Vec<(usize, usize)>]) {
    let src = b.src;
    let scheme = b.scheme;
    let rule = scheme.rule(&node.op).unwrap_or(OutParams::Calibrated);
    let mut out = node.clone();
    let mut data_params = None;
    let mut weight_quant: Option<Quantization> = None;
    let weight = weight_slot(&node.op).filter(|_| !matches!(node.op, Op::BatchMatMul { .. }));
    // The parameters every input and the output share (CONCATENATION and friends).
    let shared = match rule {
        OutParams::Shared => node.outputs.first().and_then(|&o| b.params[o]),
        _ => None,
    };
    for (k, slot) in node.inputs.iter().enumerate() {
        let Some(t) = *slot else { continue };
        let info = &src.tensors[t];
        let only = readers[t].len() == 1;
        if !info.is_constant() {
            if info.dtype == DType::F32 {
                let q = match shared {
                    Some(p) => b.int_as(t, p),
                    None => b.int(t),
                };
                data_params = data_params.or(b.params[t]);
                out.inputs[k] = Some(q);
            } else {
                out.inputs[k] = Some(b.float(t));
            }
            continue;
        }
        let Some(values) = const_f32(info) else {
            continue;
        };
        let qinfo = if weight.is_some_and(|(slot, _)| slot == k) {
            let axis = weight.and_then(|(_, a)| a);
            let (q, quant) = symmetric_int8(&values, &info.shape, axis);
            let mut qinfo = info.clone();
            qinfo.dtype = DType::I8;
            qinfo.data = Some(i8_bytes(&q));
            weight_quant = Some(quant.clone());
            qinfo.quantization = Some(quant);
            qinfo
        } else if weight.is_some() && k == 2 {
            let in_scale = data_params.map_or(1.0, |(s, _)| s) as f64;
            let wq = weight_quant
                .clone()
                .unwrap_or_else(|| Quantization::per_tensor(1.0, 0));
            quantized_bias(info, &values, in_scale, &wq, scheme.bias_dtype())
        } else {
            quantized_constant(info, &values, shared, scheme)
        };
        out.inputs[k] = Some(b.constant(t, only, qinfo));
    }
    for &o in &node.outputs {
        let (s, z) = match rule {
            OutParams::Fixed(s, z) => (s, z),
            OutParams::SameAsInput => data_params.or(b.params[o]).unwrap_or(scheme.fallback()),
            OutParams::Calibrated | OutParams::Shared => b.params[o].unwrap_or(scheme.fallback()),
        };
        b.params[o] = Some((s, z));
        let info = &mut b.sg.tensors[o];
        info.dtype = scheme.dtype();
        info.quantization = Some(Quantization::per_tensor(s, z));
        b.int_of[o] = Some(o);
    }
    b.sg.nodes.push(out);
}
