//! The weight-only modes: float16 constants, int8 weights behind DEQUANTIZE, and the
//! dynamic-range form whose int8 weights the hybrid kernels read directly.

use crate::graph::{DType, Data, Node, Op, Quantization, Subgraph, TensorInfo};
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
    let (channels, inner) = match axis {
        Some(a) if a < shape.len() => (shape[a].max(1), shape[a + 1..].iter().product::<usize>()),
        _ => (1, values.len().max(1)),
    };
    let channel = |i: usize| (i / inner.max(1)) % channels;
    let mut max_abs = vec![0f32; channels];
    for (i, v) in values.iter().enumerate() {
        let c = channel(i);
        max_abs[c] = max_abs[c].max(v.abs());
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .map(|&m| {
            if m > 0.0 && m.is_finite() {
                m / 127.0
            } else {
                1.0
            }
        })
        .collect();
    let q = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v / scales[channel(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    let quant = Quantization {
        zero_point: vec![0; channels],
        scale: scales,
        axis: axis.filter(|&a| a < shape.len()).unwrap_or(0),
    };
    (q, quant)
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

/// The weights of convolutions, fully-connected and batch-matmul ops of at least
/// 1024 elements (the converter's threshold) become symmetric int8 behind
/// DEQUANTIZE; compute stays float.
pub(crate) fn weight_int8(sg: &mut Subgraph, keep: &HashSet<usize>) {
    let users = consumers(sg);
    let mut deq = Vec::new();
    for t in (0..sg.tensors.len()).rev() {
        let Some((axis, values)) = weight_of(sg, &users[t], t, keep, DYNAMIC_MIN_ELEMENTS) else {
            continue;
        };
        let mut info = sg.tensors[t].clone();
        let (q, quant) = symmetric_int8(&values, &info.shape, axis);
        info.dtype = DType::I8;
        info.data = Some(i8_bytes(&q));
        info.quantization = Some(quant);
        deq.push(behind_dequantize(sg, t, &users[t], info));
    }
    prepend(sg, deq);
}

/// When every reader of `t` uses it as its weight input at the same channel axis,
/// that axis and the constant's values (constants under `min_elements` excluded).
fn weight_of(
    sg: &Subgraph,
    users: &[(usize, usize)],
    t: usize,
    keep: &HashSet<usize>,
    min_elements: usize,
) -> Option<(Option<usize>, Vec<f32>)> {
    if !convertible(sg, users, t, keep) || sg.tensors[t].num_elements() < min_elements {
        return None;
    }
    let mut axis = None;
    for (i, &(n, k)) in users.iter().enumerate() {
        let (slot, a) = weight_slot(&sg.nodes[n].op)?;
        if slot != k || (i > 0 && axis != a) {
            return None;
        }
        axis = a;
    }
    Some((axis, const_f32(&sg.tensors[t])?))
}

/// The converter's dynamic-range form: weights of at least 1024 elements of
/// FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D and BATCH_MATMUL become int8 (per
/// channel for the convolutions and FULLY_CONNECTED) read directly by the hybrid
/// kernels, which quantize their inputs asymmetrically.
pub(crate) fn dynamic_int8(sg: &mut Subgraph, keep: &HashSet<usize>) {
    let users = consumers(sg);
    for (t, readers) in users.iter().enumerate() {
        let Some((axis, values)) = weight_of(sg, readers, t, keep, DYNAMIC_MIN_ELEMENTS) else {
            continue;
        };
        let info = &mut sg.tensors[t];
        let (q, quant) = symmetric_int8(&values, &info.shape, axis);
        info.dtype = DType::I8;
        info.data = Some(i8_bytes(&q));
        info.quantization = Some(quant);
        for &(n, _) in readers {
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
