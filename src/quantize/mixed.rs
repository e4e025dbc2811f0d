//! Quantization node by node, as a recipe says over the `--mode` default: static
//! (int8 activations), dynamic and weight-only nodes, float16 and float ones
//! mixed in one model.
//!
//! The passes run in turn on each subgraph: the int8 pass over the static nodes
//! (their weights requantized afterwards where the recipe asks for int4 or per
//! tensor weights), then the weights of the dynamic, weight-only and float16
//! nodes, then `--mode fp16`'s float16 constants. Nodes are followed from pass
//! to pass by their first output tensor, which every pass keeps.

use super::int8;
use super::recipe::{Plan, Recipe};
use super::weights::{
    channel_axis, const_f32, quantize_weight, weight_slot, Granularity, WeightPlan, WeightSpec,
};
use super::{
    calibrate, float_subgraphs, invalid, remap_signatures, IoType, Mode, QuantizeOptions, Quantized,
};
use crate::error::Result;
use crate::graph::{DType, Graph, Node, Op, Quantization, Subgraph, Tensor};
use std::collections::{HashMap, HashSet};

/// The plan `mode` gives a node no recipe entry matches.
fn default_plan(mode: Mode, op: &Op) -> Plan {
    let weights = weight_slot(op).is_some();
    match mode {
        Mode::Fp16 => Plan::Fp16All,
        Mode::WeightInt8 | Mode::DynamicInt8 if !weights => Plan::Float,
        Mode::WeightInt8 => Plan::Weights(WeightPlan::converter(op, false)),
        Mode::DynamicInt8 => Plan::Weights(WeightPlan::converter(op, true)),
        // 16x8 never reaches a recipe's plan (quantize() refuses the pair).
        Mode::Int8 | Mode::Int16x8 => Plan::INT8,
        Mode::Recipe => Plan::Float,
    }
}

/// For each node of `now` (a pass's result), the plan of the node of `src` it
/// came from (None for nodes a pass added).
fn follow(src: &Subgraph, plans: &[Plan], now: &Subgraph) -> Vec<Option<Plan>> {
    let by_output: HashMap<usize, usize> = src
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(n, node)| Some((*node.outputs.first()?, n)))
        .collect();
    now.nodes
        .iter()
        .map(|node| {
            let n = by_output.get(node.outputs.first()?)?;
            plans.get(*n).copied()
        })
        .collect()
}

/// Quantize `graph` node by node: the recipe's plan where an entry matches, the
/// mode's default elsewhere, float for the nodes `--keep-float` names.
pub(crate) fn quantize(
    graph: &Graph,
    options: &QuantizeOptions,
    recipe: &Recipe,
    samples: &[Vec<Tensor>],
) -> Result<Quantized> {
    let mut kept = options.keep_float.resolve(graph.main())?;
    let mut plans = Vec::with_capacity(graph.subgraphs.len());
    for (s, sg) in graph.subgraphs.iter().enumerate() {
        let chosen = recipe.resolve(sg)?;
        if s == 0 {
            // What --keep-float and no_quantize entries keep float (not what is
            // float for want of a matching entry) leaves the subgraphs only
            // those nodes call float.
            kept.extend((0..chosen.len()).filter(|&n| chosen[n] == Some(Plan::Float)));
        }
        let plan = |(node, p): (&Node, Option<Plan>)| {
            p.unwrap_or_else(|| default_plan(options.mode, &node.op))
        };
        plans.push(sg.nodes.iter().zip(chosen).map(plan).collect::<Vec<_>>());
    }
    for &n in &kept {
        plans[0][n] = Plan::Float;
    }
    for s in float_subgraphs(graph, &kept) {
        plans[s].iter_mut().for_each(|p| *p = Plan::Float);
    }
    let is_static = |p: &Plan| matches!(p, Plan::Static { .. });
    let mut out = graph.clone();
    let mut float_nodes = Vec::new();
    if plans.iter().flatten().any(is_static) {
        if samples.is_empty() {
            return Err(invalid(
                "static quantization needs calibration inputs (--calibration DIR or --calibration-random N)",
            ));
        }
        let ranges = calibrate::ranges(graph, samples, options.percentile)?;
        for (s, src) in graph.subgraphs.iter().enumerate() {
            if !plans[s].iter().any(is_static) {
                continue;
            }
            let mut range = ranges.subgraphs.get(s).cloned().unwrap_or_default();
            symmetric_ranges(src, &plans[s], &mut range);
            let not_static: HashSet<usize> = (0..src.nodes.len())
                .filter(|&n| !is_static(&plans[s][n]))
                .collect();
            let io = if s == 0 { options.io } else { IoType::Float };
            let (mut sg, left) =
                int8::full_integer(src, &range, &not_static, io, super::scheme::Scheme::Int8)?;
            for (n, plan) in plans[s].iter().enumerate() {
                if let Plan::Static { weights, .. } = plan {
                    requantize_weights(&mut sg, src, n, weights);
                }
            }
            float_nodes.extend(left.into_iter().map(|(n, op, why)| {
                let why = match plans[s][n] {
                    Plan::Static { .. } | Plan::Float => why,
                    other => other.describe(),
                };
                match s {
                    0 => (n, op, why),
                    _ => (n, op, format!("in subgraph {s} ({}): {why}", src.name)),
                }
            }));
            out.subgraphs[s] = sg;
        }
        remap_signatures(&mut out, graph);
    }
    for (s, src) in graph.subgraphs.iter().enumerate() {
        let sg = &mut out.subgraphs[s];
        let weights: Vec<Option<WeightPlan>> = follow(src, &plans[s], sg)
            .into_iter()
            .map(|p| match p {
                Some(Plan::Weights(w)) => Some(w),
                _ => None,
            })
            .collect();
        if weights.iter().any(Option::is_some) {
            super::weights::apply(sg, &weights);
        }
        let now = follow(src, &plans[s], sg);
        if now.contains(&Some(Plan::Fp16All)) {
            let others: HashSet<usize> = (0..now.len())
                .filter(|&n| now[n] != Some(Plan::Fp16All))
                .collect();
            super::weights::fp16(sg, &others);
        }
    }
    Ok(Quantized {
        graph: out,
        float_nodes,
    })
}

/// Make the calibrated ranges of the activations of static nodes with symmetric
/// activations symmetric, so that the int8 pass gives them zero point 0 and
/// scale max|x| / 127: [-128, 127] x max|x| / 127.
fn symmetric_ranges(src: &Subgraph, plans: &[Plan], range: &mut [Option<(f32, f32)>]) {
    for (node, plan) in src.nodes.iter().zip(plans) {
        if !matches!(
            plan,
            Plan::Static {
                symmetric: true,
                ..
            }
        ) {
            continue;
        }
        for &t in node.inputs.iter().flatten().chain(&node.outputs) {
            if src.tensors[t].is_constant() {
                continue;
            }
            if let Some(r) = range.get_mut(t) {
                if let Some((lo, hi)) = *r {
                    let m = lo.abs().max(hi.abs());
                    *r = Some((-m * 128.0 / 127.0, m));
                }
            }
        }
    }
}

/// Requantize the weights of static node `n` of `src` (and its int32 bias) in the
/// int8 pass's result `sg` as `spec` says, when that is not the pass's own
/// symmetric int8 per channel.
fn requantize_weights(sg: &mut Subgraph, src: &Subgraph, n: usize, spec: &WeightSpec) {
    if spec.bits == 8 && spec.granularity == Granularity::Channel {
        return;
    }
    let node = &src.nodes[n];
    let Some((slot, _)) = weight_slot(&node.op) else {
        return;
    };
    let Some(values) = node.input(slot).and_then(|t| const_f32(&src.tensors[t])) else {
        return;
    };
    let Some(now) = sg
        .nodes
        .iter()
        .find(|m| m.outputs.first() == node.outputs.first() && m.op == node.op)
    else {
        return;
    };
    let (Some(w), Some(x)) = (now.input(slot), now.input(0)) else {
        return;
    };
    if sg.tensors[w].dtype != DType::I8 {
        return;
    }
    let bias = now.input(2).zip(node.input(2));
    let shape = sg.tensors[w].shape.clone();
    let axis = match spec.granularity {
        Granularity::Channel => channel_axis(&node.op, shape.len()),
        _ => None,
    };
    let q = quantize_weight(&values, &shape, axis, spec);
    let in_scale = sg.tensors[x]
        .quantization
        .as_ref()
        .map_or(1.0, |p| p.scale_at(0)) as f64;
    let info = &mut sg.tensors[w];
    info.dtype = q.dtype;
    info.data = Some(q.data);
    info.quantization = Some(q.quant.clone());
    // The int32 bias at scale input x weight scale of its channel, as the int8
    // pass writes it.
    let Some((b, b_src)) = bias else {
        return;
    };
    let Some(bv) = const_f32(&src.tensors[b_src]) else {
        return;
    };
    if sg.tensors[b].dtype != DType::I32 {
        return;
    }
    let wq = &q.quant;
    let per_channel = wq.is_per_channel();
    let scale = |c: usize| in_scale * wq.scale_at(c) as f64;
    let levels: Vec<u8> = bv
        .iter()
        .enumerate()
        .flat_map(|(c, &v)| {
            let l = (v as f64 / scale(c))
                .round()
                .clamp(i32::MIN as f64, i32::MAX as f64) as i32;
            l.to_le_bytes()
        })
        .collect();
    let scales: Vec<f32> = (0..if per_channel { bv.len() } else { 1 })
        .map(|c| scale(c) as f32)
        .collect();
    let info = &mut sg.tensors[b];
    info.data = Some(levels.into());
    info.quantization = Some(Quantization::per_channel(
        scales.clone(),
        vec![0; scales.len()],
        0,
    ));
}
