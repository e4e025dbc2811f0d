//! GATHER along one axis with constant indices (shaders/gather.wgsl): the indices
//! travel as a u32 table, validated on the host.

use super::quant::is_quantized;
use super::{const_ints, LowerCtx};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/gather.wgsl.
    struct GatherParams {
        n: u32,
        count: u32,
        axis_size: u32,
        inner: u32,
    }
}

static GATHER: Shader = Shader {
    name: "gather",
    parts: &[include_str!("../../../shaders/gather.wgsl")],
    selectors: &[],
    defines: &[],
    params: GatherParams::LAYOUT,
};

/// A planned gather: the index table and the (outer, axis, inner) sizes.
struct GatherPlan {
    indices: Vec<u32>,
    axis_size: usize,
    inner: usize,
}

fn plan(node: &Node, sg: &Subgraph) -> Support<GatherPlan> {
    let Op::Gather { axis, batch_dims } = &node.op else {
        return Err(format!("{} is not GATHER", node.op.name()).into());
    };
    let tensor = |i: usize| {
        node.input(i)
            .map(|t| &sg.tensors[t])
            .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
    };
    let params = tensor(0)?;
    let indices = tensor(1)?;
    let out = node
        .outputs
        .first()
        .map(|&t| &sg.tensors[t])
        .ok_or(Unsupported::from("missing output"))?;
    for t in [params, out] {
        if t.dtype != DType::F32 {
            return Err(format!(
                "tensor {} is {}, the GPU path runs float32 tensors",
                t.name, t.dtype
            )
            .into());
        }
    }
    let rank = params.shape.len() as i64;
    let a = if *axis < 0 {
        *axis as i64 + rank
    } else {
        *axis as i64
    };
    if a < 0 || a >= rank {
        return Err(format!("axis {axis} out of range for rank {rank}").into());
    }
    let a = a as usize;
    let bd = if *batch_dims < 0 {
        *batch_dims as i64 + indices.shape.len() as i64
    } else {
        *batch_dims as i64
    };
    if bd != 0 {
        return Err(format!("batch_dims {batch_dims} runs on the CPU").into());
    }
    let axis_size = params.shape[a];
    let idx = const_ints(indices)?
        .into_iter()
        .map(|v| {
            if v < 0 || v >= axis_size as i64 {
                Err(format!("index {v} is out of range [0, {axis_size})").into())
            } else {
                Ok(v as u32)
            }
        })
        .collect::<Support<Vec<u32>>>()?;
    let mut shape = params.shape[..a].to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(&params.shape[a + 1..]);
    if out.shape != shape {
        return Err(format!(
            "output {} has shape {:?}, expected {shape:?}",
            out.name, out.shape
        )
        .into());
    }
    let inner: usize = params.shape[a + 1..].iter().product();
    if u32::try_from(out.num_elements()).is_err() || u32::try_from(params.num_elements()).is_err() {
        return Err("tensor too large for u32 indexing".into());
    }
    Ok(GatherPlan {
        indices: idx,
        axis_size,
        inner,
    })
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    plan(node, sg).map(|_| ())
}

/// Record the dispatches of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let p = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let n = ctx.out_info(0)?.num_elements();
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    if n == 0 || p.indices.is_empty() || p.inner == 0 {
        return Ok(());
    }
    // The table is stored as raw u32 words (f32 bit patterns kept verbatim).
    let words: Vec<f32> = p.indices.iter().map(|&i| f32::from_bits(i)).collect();
    let idx = ctx.b.constant_f32(&words);
    ctx.dispatch(
        &GATHER,
        vec![],
        GatherParams {
            n: n as u32,
            count: p.indices.len() as u32,
            axis_size: p.axis_size as u32,
            inner: p.inner as u32,
        },
        vec![x, idx, out],
        n as u64,
    )
}

gpu_op! {
    /// GATHER of float or integer data.
    Gather "gather" {
        claims: |node, sg| matches!(node.op, Op::Gather { .. }) && !is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &GATHER,
        ],
    }
}
