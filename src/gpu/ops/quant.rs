//! Quantized (full-integer) nodes (not an op family): which nodes compute on 8-
//! or 16-bit quantized activations (each integer family claims only those) and
//! the helpers the integer families share (quantization parameters, clamp
//! ranges, packed int8 weights).
//!
//! Quantized activations live on the GPU as raw integer values, one per i32 word;
//! int8 weights stay int8, packed four to a u32 word. Multipliers, shifts and zero
//! points are computed on the host with the CPU's fixed-point helpers
//! (`crate::graph::quant`) and travel as uniforms or per-channel constants; the
//! shaders only do the integer arithmetic (shaders/qmath.wgsl).

use crate::gpu::pipeline::Precision;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Activation;
use crate::graph::quant::{activation_range, quantize_multiplier, type_range, Multiplier};
use crate::graph::{DType, Node, Op, Subgraph, TensorInfo};

/// Whether `dtype` is an integer type of quantized activations.
pub fn is_quant_dtype(dtype: DType) -> bool {
    matches!(dtype, DType::I8 | DType::U8 | DType::I16)
}

/// Whether the node computes on quantized activations: QUANTIZE or DEQUANTIZE of
/// a runtime tensor, or any runtime input or output of a quantized integer type.
pub fn is_quantized(node: &Node, sg: &Subgraph) -> bool {
    let runtime_int = |t: &usize| {
        let info = &sg.tensors[*t];
        !info.is_constant() && is_quant_dtype(info.dtype)
    };
    matches!(node.op, Op::Quantize | Op::Dequantize)
        || node.inputs.iter().flatten().any(runtime_int)
        || node.outputs.iter().any(runtime_int)
}

/// The precision a partition of `nodes` compiles at when `requested` is asked for.
///
/// Integer kernels gain nothing from f16, and storing a QUANTIZE input in f16
/// would move values across quantization steps, so partitions with quantized
/// nodes run at f32. Hybrid nodes (int8 weights, float activations) run at the
/// requested precision: their kernels dequantize the weights and compute in float,
/// as the TFLite GPU delegate does.
pub fn partition_precision(
    sg: &Subgraph,
    nodes: &[usize],
    requested: Precision,
) -> Support<Precision> {
    if requested == Precision::F32 {
        return Ok(Precision::F32);
    }
    let node = |n: &usize| sg.nodes.get(*n);
    if nodes
        .iter()
        .any(|n| node(n).is_some_and(|nd| is_quantized(nd, sg)))
    {
        return Ok(Precision::F32);
    }
    Ok(requested)
}

/// Per-tensor (scale, zero point) of a quantized tensor.
pub fn qparams(info: &TensorInfo) -> Support<(f32, i32)> {
    let q = info.quantization.as_ref().ok_or_else(|| {
        Unsupported::from(format!(
            "tensor {} has no quantization parameters",
            info.name
        ))
    })?;
    if q.scale.len() != 1 || q.zero_point.len() > 1 {
        return Err(format!(
            "tensor {} is quantized per channel; the GPU kernel takes one scale",
            info.name
        )
        .into());
    }
    let scale = q.scale[0];
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("tensor {} has scale {scale}", info.name).into());
    }
    let zp = q.zero_point.first().copied().unwrap_or(0);
    let zp = i32::try_from(zp)
        .map_err(|_| Unsupported::from(format!("tensor {} zero point {zp}", info.name)))?;
    let (lo, hi) = type_range(info.dtype);
    if zp < lo || zp > hi {
        return Err(format!(
            "tensor {} zero point {zp} is outside its type's range",
            info.name
        )
        .into());
    }
    Ok((scale, zp))
}

/// Input `i` of the node (present).
pub fn input<'a>(node: &Node, sg: &'a Subgraph, i: usize) -> Support<&'a TensorInfo> {
    node.input(i)
        .map(|t| &sg.tensors[t])
        .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
}

/// Output `i` of the node.
pub fn output<'a>(node: &Node, sg: &'a Subgraph, i: usize) -> Support<&'a TensorInfo> {
    node.outputs
        .get(i)
        .map(|&t| &sg.tensors[t])
        .ok_or_else(|| Unsupported::from(format!("missing output {i}")))
}

/// A runtime quantized activation: a quantized integer type with per-tensor
/// parameters. Returns (scale, zero point).
pub fn activation(info: &TensorInfo) -> Support<(f32, i32)> {
    if !is_quant_dtype(info.dtype) {
        return Err(format!(
            "tensor {} is {}, expected a quantized integer",
            info.name, info.dtype
        )
        .into());
    }
    qparams(info)
}

/// The clamp range of output `out` with fused activation `act`, in its integer
/// domain (the type range narrowed by the activation).
pub fn out_range(out: &TensorInfo, act: Activation) -> Support<(i32, i32)> {
    if act.range().is_none() {
        return Err(format!("fused {act:?} runs on the CPU").into());
    }
    let (scale, zp) = qparams(out)?;
    Ok(activation_range(act, scale, zp, out.dtype))
}

/// A multiplier as its two uniform words.
pub fn mult_words(m: Multiplier) -> [u32; 2] {
    [m.mantissa as u32, m.shift as u32]
}

/// The fixed-point multiplier of a real ratio.
pub fn multiplier(real: f64) -> Multiplier {
    quantize_multiplier(real)
}

/// Whether node's weights (input 1) are an int8 constant (a hybrid node).
pub fn has_int8_weights(node: &Node, sg: &Subgraph) -> bool {
    node.input(1)
        .map(|t| sg.tensors[t].dtype == DType::I8 && sg.tensors[t].is_constant())
        .unwrap_or(false)
}

/// Int8 weights (raw bytes) of a constant tensor, refusing non-zero zero points
/// (the kernels take symmetric weights).
pub fn int8_weights(info: &TensorInfo) -> Support<&[u8]> {
    if info.dtype != DType::I8 {
        return Err(format!(
            "weights {} are {}, the integer kernels take int8",
            info.name, info.dtype
        )
        .into());
    }
    let q = info.quantization.as_ref().ok_or_else(|| {
        Unsupported::from(format!(
            "weights {} have no quantization parameters",
            info.name
        ))
    })?;
    if q.zero_point.iter().any(|&z| z != 0) {
        return Err(format!("weights {} have a non-zero zero point", info.name).into());
    }
    let data = info.data.as_deref().ok_or_else(|| {
        Unsupported::from(format!("weights {} are computed at run time", info.name))
    })?;
    if data.len() != info.num_elements() {
        return Err(format!("weights {} have the wrong size", info.name).into());
    }
    Ok(data)
}

/// Per-channel weight scales of `channels` output channels (one scale repeated
/// for per-tensor weights), checked to be finite and positive.
pub fn weight_scales(info: &TensorInfo, channels: usize, axis: usize) -> Support<Vec<f32>> {
    let q = info.quantization.as_ref().ok_or_else(|| {
        Unsupported::from(format!(
            "weights {} have no quantization parameters",
            info.name
        ))
    })?;
    let scales = match q.scale.len() {
        1 => vec![q.scale[0]; channels],
        n if n == channels && q.axis == axis => q.scale.clone(),
        n => {
            return Err(format!(
                "weights {} have {n} scales on axis {} for {channels} channels on axis {axis}",
                info.name, q.axis
            )
            .into())
        }
    };
    if scales.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(format!("weights {} have an invalid scale", info.name).into());
    }
    Ok(scales)
}

/// Int32 bias values of a constant bias (zeros when absent).
pub fn int_bias(node: &Node, sg: &Subgraph, i: usize, channels: usize) -> Support<Vec<i32>> {
    let Some(t) = node.input(i) else {
        return Ok(vec![0; channels]);
    };
    let info = &sg.tensors[t];
    if info.dtype != DType::I32 {
        return Err(format!(
            "bias {} is {}, the integer kernels take int32",
            info.name, info.dtype
        )
        .into());
    }
    let data = info.data.as_ref().ok_or_else(|| {
        format!(
            "tensor {} is computed at runtime, the GPU path needs a constant",
            info.name
        )
    })?;
    let v: Vec<i32> = data
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if v.len() != channels {
        return Err(format!(
            "bias {} has {} elements, expected {channels}",
            info.name,
            v.len()
        )
        .into());
    }
    Ok(v)
}
