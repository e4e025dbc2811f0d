//! The weight modes: float16 constants, quantized weights behind DEQUANTIZE, and
//! the dynamic-range form whose quantized weights the hybrid kernels read
//! directly. Weights are int8 or int4 (two a byte), symmetric or not, per tensor,
//! per output channel or (4-bit, for the hybrid FULLY_CONNECTED kernel) per block
//! of the depth, as a per-node [`WeightPlan`] says; `--mode weight-int8` and
//! `--mode dynamic-int8` are the converter's plans for every weight op.

use crate::graph::{pack_int4, DType, Data, Node, Op, Quantization, Subgraph, TensorInfo};
use half::f16;
use std::collections::HashSet;
use std::sync::Arc;

/// The converter's dynamic-range threshold: smaller weights stay float.
pub(crate) const DYNAMIC_MIN_ELEMENTS: usize = 1024;

/// For each tensor, the (node, input position) pairs that read it.
pub(crate) fn consumers(sg: &Subgraph) -> Vec<Vec<(usize, usize)>> {
    let mut users = vec![Vec::new(); sg.tensors.len()];
    for (n, node) in sg.nodes.iter().enumerate() {
        for (k, t) in node.inputs.iter().enumerate() {
            if let Some(t) = t {
                if let Some(u) = users.get_mut(*t) {
                    u.push((n, k));
                }
            }
        }
    }
    users
}

/// The float32 values of a dense float32 constant.
pub(crate) fn const_f32(info: &TensorInfo) -> Option<Vec<f32>> {
    if info.dtype != DType::F32 || info.sparsity.is_some() || info.is_variable {
        return None;
    }
    match Data::from_bytes(DType::F32, info.data.as_deref()?).ok()? {
        Data::F32(v) => Some(v),
        _ => None,
    }
}

/// How the weight input of a node is quantized: the input position and the
/// channel axis (None: per tensor). None when the op has no weight input.
pub(crate) fn weight_slot(op: &Op) -> Option<(usize, Option<usize>)> {
    Some(match op {
        Op::Conv2D(_) | Op::FullyConnected(_) => (1, Some(0)),
        Op::DepthwiseConv2D(_) => (1, Some(3)),
        Op::TransposeConv(_) => (1, Some(0)),
        Op::BatchMatMul { .. } => (1, None),
        _ => return None,
    })
}

/// Symmetric int8 quantization of `values` (of `shape`) per tensor or per channel
/// along `axis`: scale = max|w| / 127, q = round(w / scale) in [-127, 127].
pub(crate) fn symmetric_int8(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> (Vec<i8>, Quantization) {
    let spec = WeightSpec {
        granularity: if axis.is_some() {
            Granularity::Channel
        } else {
            Granularity::Tensor
        },
        ..WeightSpec::INT8
    };
    affine(values, shape, axis, &spec)
}

/// How finely a weight is quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    /// One scale for the tensor.
    Tensor,
    /// One scale per output channel.
    Channel,
    /// One scale per block of this many elements along the depth of a 2-D
    /// weight [channels, depth] (symmetric 4-bit, float16 scales).
    Block(usize),
}

/// How a weight tensor is quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WeightSpec {
    /// 4 (INT4, two per byte) or 8 (INT8).
    pub bits: u8,
    /// Zero point 0 (else per-tensor or per-channel zero points).
    pub symmetric: bool,
    /// Per tensor, per channel or per block.
    pub granularity: Granularity,
    /// Weights with fewer elements stay float.
    pub min_elements: usize,
}

impl WeightSpec {
    /// Symmetric int8 per channel, every size (the int8 pass's weights).
    pub(crate) const INT8: WeightSpec = WeightSpec {
        bits: 8,
        symmetric: true,
        granularity: Granularity::Channel,
        min_elements: 0,
    };
}

/// A float weight quantized by [`quantize_weight`].
pub(crate) struct QuantizedWeight {
    /// INT8 or INT4.
    pub dtype: DType,
    /// The stored bytes (INT4 packed two per byte).
    pub data: Arc<[u8]>,
    /// Its quantization (blockwise: the block scales, the scales tensor index
    /// still to be set).
    pub quant: Quantization,
}

/// The largest level of a signed `bits`-bit integer.
fn qmax(bits: u8) -> i32 {
    (1 << (bits - 1)) - 1
}

/// Affine quantization of `values` per tensor or per channel along `axis`, to
/// values of `spec.bits` bits: symmetric with scale max|w| / qmax and levels in
/// [-qmax, qmax], or asymmetric over [min(w, 0), max(w, 0)] with a zero point.
fn affine(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
    spec: &WeightSpec,
) -> (Vec<i8>, Quantization) {
    let (channels, inner) = match axis {
        Some(a) if a < shape.len() => (shape[a].max(1), shape[a + 1..].iter().product::<usize>()),
        _ => (1, values.len().max(1)),
    };
    let channel = |i: usize| (i / inner.max(1)) % channels;
    let mut lo = vec![0f32; channels];
    let mut hi = vec![0f32; channels];
    for (i, v) in values.iter().enumerate() {
        let c = channel(i);
        lo[c] = lo[c].min(*v);
        hi[c] = hi[c].max(*v);
    }
    let top = qmax(spec.bits);
    let levels = (2 * top + 1) as f32;
    let valid = |s: f32| s > 0.0 && s.is_finite();
    let params: Vec<(f32, i64)> = lo
        .iter()
        .zip(&hi)
        .map(|(&l, &h)| {
            if spec.symmetric {
                let s = l.abs().max(h.abs()) / top as f32;
                (if valid(s) { s } else { 1.0 }, 0)
            } else {
                let s = (h - l) / levels;
                if !valid(s) {
                    return (1.0, 0);
                }
                let zp = (-(top + 1) as f32 - l / s).round();
                (s, zp.clamp(-(top + 1) as f32, top as f32) as i64)
            }
        })
        .collect();
    let lowest = if spec.symmetric { -top } else { -(top + 1) };
    let q = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (s, zp) = params[channel(i)];
            ((v / s).round() + zp as f32).clamp(lowest as f32, top as f32) as i8
        })
        .collect();
    let quant = Quantization::per_channel(
        params.iter().map(|p| p.0).collect(),
        params.iter().map(|p| p.1).collect(),
        axis.filter(|&a| a < shape.len()).unwrap_or(0),
    );
    (q, quant)
}

/// A block scale as LiteRT's blockwise kernels read it: float16, rounded first
/// to bfloat16's 8-bit significand (which XNNPACK's kernels keep), never zero.
fn block_scale(s: f32) -> f16 {
    let bf = half::bf16::from_f32(s).to_f32();
    let h = f16::from_f32(bf.min(65280.0));
    if h.to_f32() > 0.0 {
        h
    } else {
        f16::from_bits(1)
    }
}

/// Quantize the float weight `values` of `shape` as `spec` says; `axis` is the
/// output-channel axis used by per-channel quantization.
pub(crate) fn quantize_weight(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
    spec: &WeightSpec,
) -> QuantizedWeight {
    let (q, quant) = match spec.granularity {
        Granularity::Block(size) => {
            let (channels, depth) = match shape {
                [c, d] => (*c, *d),
                _ => (1, values.len()),
            };
            let size = size.max(1);
            let blocks = depth / size;
            let top = qmax(spec.bits) as f32;
            let mut scales = Vec::with_capacity(channels * blocks);
            let mut q = vec![0i8; values.len()];
            for c in 0..channels {
                for b in 0..blocks {
                    let r = c * depth + b * size..c * depth + (b + 1) * size;
                    let m = values[r.clone()].iter().fold(0f32, |m, v| m.max(v.abs()));
                    let s = block_scale(m / top).to_f32();
                    for (o, v) in q[r.clone()].iter_mut().zip(&values[r]) {
                        *o = (v / s).round().clamp(-top, top) as i8;
                    }
                    scales.push(s);
                }
            }
            let quant = Quantization {
                scale: scales,
                zero_point: vec![0],
                axis: 0,
                block: Some(crate::graph::Blockwise { size, scales: 0 }),
            };
            (q, quant)
        }
        Granularity::Tensor => affine(values, shape, None, spec),
        Granularity::Channel => affine(values, shape, axis, spec),
    };
    let (dtype, data) = if spec.bits == 4 {
        (DType::Int4, pack_int4(&q).into())
    } else {
        (DType::I8, i8_bytes(&q))
    };
    QuantizedWeight { dtype, data, quant }
}

/// Bytes of an int8 vector.
pub(crate) fn i8_bytes(q: &[i8]) -> Arc<[u8]> {
    q.iter().map(|&v| v as u8).collect::<Vec<u8>>().into()
}

/// Replace constant `t` by `converted` (its new type, data and quantization) and
/// give its readers a float32 copy made by a DEQUANTIZE node, named as the
/// converter names it (the original name plus "1"). Returns the DEQUANTIZE node.
fn behind_dequantize(
    sg: &mut Subgraph,
    t: usize,
    users: &[(usize, usize)],
    converted: TensorInfo,
) -> Node {
    let mut float = TensorInfo::new(
        format!("{}1", converted.name),
        DType::F32,
        converted.shape.clone(),
    );
    float.shape_signature = sg.tensors[t].shape_signature.clone();
    sg.tensors[t] = converted;
    sg.tensors.push(float);
    let out = sg.tensors.len() - 1;
    for &(n, k) in users {
        sg.nodes[n].inputs[k] = Some(out);
    }
    Node {
        op: Op::Dequantize,
        inputs: vec![Some(t)],
        outputs: vec![out],
    }
}

/// Constants every reader of which is outside `keep` and not a graph output.
fn convertible(sg: &Subgraph, users: &[(usize, usize)], t: usize, keep: &HashSet<usize>) -> bool {
    !users.is_empty() && !sg.outputs.contains(&t) && users.iter().all(|(n, _)| !keep.contains(n))
}

/// Put the DEQUANTIZE nodes first, in the converter's order.
fn prepend(sg: &mut Subgraph, nodes: Vec<Node>) {
    let rest = std::mem::take(&mut sg.nodes);
    sg.nodes = nodes;
    sg.nodes.extend(rest);
}

/// Every float32 constant becomes float16 (round to nearest even) behind a
/// DEQUANTIZE, as the converter's float16 quantization writes it.
pub(crate) fn fp16(sg: &mut Subgraph, keep: &HashSet<usize>) {
    let users = consumers(sg);
    let mut deq = Vec::new();
    for t in (0..sg.tensors.len()).rev() {
        let Some(values) = const_f32(&sg.tensors[t]) else {
            continue;
        };
        if !convertible(sg, &users[t], t, keep) {
            continue;
        }
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        let mut info = sg.tensors[t].clone();
        info.dtype = DType::F16;
        info.data = Some(bytes.into());
        deq.push(behind_dequantize(sg, t, &users[t], info));
    }
    prepend(sg, deq);
}

/// What happens to the weights of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WeightPlan {
    /// float16 behind DEQUANTIZE (the AI Edge Quantizer's float casting).
    Fp16,
    /// Quantized behind DEQUANTIZE; compute stays float.
    WeightOnly(WeightSpec),
    /// Quantized and read directly by the hybrid (dynamic-range) kernels.
    Dynamic(WeightSpec),
}

impl WeightPlan {
    /// The plan of `--mode weight-int8` and `--mode dynamic-int8` for node `op`:
    /// symmetric int8, per channel where the converter quantizes per channel
    /// (not BATCH_MATMUL), weights under 1024 elements left float.
    pub(crate) fn converter(op: &Op, dynamic: bool) -> WeightPlan {
        let spec = WeightSpec {
            granularity: match op {
                Op::BatchMatMul { .. } => Granularity::Tensor,
                _ => Granularity::Channel,
            },
            min_elements: DYNAMIC_MIN_ELEMENTS,
            ..WeightSpec::INT8
        };
        if dynamic {
            WeightPlan::Dynamic(spec)
        } else {
            WeightPlan::WeightOnly(spec)
        }
    }

    fn spec(&self) -> Option<&WeightSpec> {
        match self {
            WeightPlan::Fp16 => None,
            WeightPlan::WeightOnly(s) | WeightPlan::Dynamic(s) => Some(s),
        }
    }
}

/// The output-channel axis of `op`'s weight of rank `rank` (None: the op has
/// no weight input).
pub(crate) fn channel_axis(op: &Op, rank: usize) -> Option<usize> {
    Some(match op {
        Op::Conv2D(_) | Op::FullyConnected(_) | Op::TransposeConv(_) => 0,
        Op::DepthwiseConv2D(_) => 3,
        // The columns of the product: the last axis, or the one before it when
        // the operand is transposed.
        Op::BatchMatMul { adj_y, .. } => rank.checked_sub(if *adj_y { 2 } else { 1 })?,
        _ => return None,
    })
}

/// The weights of `--mode weight-int8`: the weights of convolutions,
/// fully-connected and batch-matmul ops of at least 1024 elements (the
/// converter's threshold) become symmetric int8 behind DEQUANTIZE.
pub(crate) fn weight_int8(sg: &mut Subgraph, keep: &HashSet<usize>) {
    let plans = converter_plans(sg, keep, false);
    apply(sg, &plans);
}

/// The converter's dynamic-range form (`--mode dynamic-int8`): weights of at
/// least 1024 elements of FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D,
/// TRANSPOSE_CONV and BATCH_MATMUL become int8 (per channel but for
/// BATCH_MATMUL) read directly by the hybrid kernels, which quantize their
/// inputs asymmetrically.
pub(crate) fn dynamic_int8(sg: &mut Subgraph, keep: &HashSet<usize>) {
    let plans = converter_plans(sg, keep, true);
    apply(sg, &plans);
}

fn converter_plans(sg: &Subgraph, keep: &HashSet<usize>, dynamic: bool) -> Vec<Option<WeightPlan>> {
    sg.nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            (!keep.contains(&n) && weight_slot(&node.op).is_some())
                .then(|| WeightPlan::converter(&node.op, dynamic))
        })
        .collect()
}

/// The plan and channel axis of constant `t` when every reader reads it as its
/// weight input under the same plan and axis, and it has enough elements.
fn shared_plan(
    sg: &Subgraph,
    users: &[(usize, usize)],
    t: usize,
    plans: &[Option<WeightPlan>],
) -> Option<(WeightPlan, Option<usize>)> {
    let info = &sg.tensors[t];
    if users.is_empty()
        || sg.outputs.contains(&t)
        || info.dtype != DType::F32
        || !info.is_constant()
    {
        return None;
    }
    let mut found: Option<(WeightPlan, Option<usize>)> = None;
    for &(n, k) in users {
        let op = &sg.nodes[n].op;
        let plan = (*plans.get(n)?)?;
        if weight_slot(op)?.0 != k {
            return None;
        }
        let axis = match plan.spec().map(|s| s.granularity) {
            Some(Granularity::Channel) => Some(channel_axis(op, info.shape.len())?),
            _ => None,
        };
        if found.is_some_and(|f| f != (plan, axis)) {
            return None;
        }
        found = Some((plan, axis));
    }
    let (plan, _) = found?;
    let enough = plan
        .spec()
        .is_none_or(|s| info.num_elements() >= s.min_elements);
    found.filter(|_| enough)
}

/// Apply per-node weight plans (`plans[n]` for node n): each float32 constant
/// read only as the weight input of nodes with one plan is converted: float16 or
/// quantized behind a DEQUANTIZE, or quantized in place for the hybrid kernels
/// (whose FULLY_CONNECTED and BATCH_MATMUL readers then quantize their inputs
/// asymmetrically; blockwise weights get a float16 scales tensor).
pub(crate) fn apply(sg: &mut Subgraph, plans: &[Option<WeightPlan>]) {
    let users = consumers(sg);
    let mut deq = Vec::new();
    for t in (0..users.len()).rev() {
        let Some((plan, axis)) = shared_plan(sg, &users[t], t, plans) else {
            continue;
        };
        let Some(values) = const_f32(&sg.tensors[t]) else {
            continue;
        };
        let mut info = sg.tensors[t].clone();
        let spec = match plan {
            WeightPlan::Fp16 => {
                info.dtype = DType::F16;
                info.data = Some(
                    values
                        .iter()
                        .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                        .collect::<Vec<u8>>()
                        .into(),
                );
                deq.push(behind_dequantize(sg, t, &users[t], info));
                continue;
            }
            WeightPlan::WeightOnly(s) | WeightPlan::Dynamic(s) => s,
        };
        let q = quantize_weight(&values, &info.shape, axis, &spec);
        info.dtype = q.dtype;
        info.data = Some(q.data);
        info.quantization = Some(q.quant);
        if let Some(quant) = info.quantization.as_mut() {
            if let Some(block) = quant.block.as_mut() {
                block.scales =
                    push_block_scales(sg, &info.name, &info.shape, &quant.scale, block.size);
            }
        }
        match plan {
            WeightPlan::WeightOnly(_) => deq.push(behind_dequantize(sg, t, &users[t], info)),
            _ => {
                sg.tensors[t] = info;
                for &(n, _) in &users[t] {
                    match &mut sg.nodes[n].op {
                        Op::FullyConnected(f) => f.asymmetric_quantize_inputs = true,
                        Op::BatchMatMul {
                            asymmetric_quantize_inputs,
                            ..
                        } => *asymmetric_quantize_inputs = true,
                        _ => {}
                    }
                }
            }
        }
    }
    prepend(sg, deq);
}

/// Add the float16 constant [channels, blocks] holding the block scales of the
/// weight `name` of `shape`; returns its index.
fn push_block_scales(
    sg: &mut Subgraph,
    name: &str,
    shape: &[usize],
    scales: &[f32],
    size: usize,
) -> usize {
    let channels = shape.first().copied().unwrap_or(1);
    let blocks = shape.get(1).copied().unwrap_or(0) / size.max(1);
    let mut info = TensorInfo::new(format!("{name}_scales"), DType::F16, vec![channels, blocks]);
    info.data = Some(
        scales
            .iter()
            .flat_map(|&s| f16::from_f32(s).to_le_bytes())
            .collect::<Vec<u8>>()
            .into(),
    );
    sg.tensors.push(info);
    sg.tensors.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_scales_follow_the_axis() {
        let (q, quant) = symmetric_int8(&[1.0, -2.0, 0.5, 4.0], &[2, 2], Some(0));
        assert_eq!(quant.scale, vec![2.0 / 127.0, 4.0 / 127.0]);
        assert_eq!(q, vec![64, -127, 16, 127]);
        let (_, quant) = symmetric_int8(&[1.0, -2.0, 0.5, 4.0], &[2, 2], Some(1));
        assert_eq!(quant.scale, vec![1.0 / 127.0, 4.0 / 127.0]);
        assert_eq!(quant.axis, 1);
    }
}
