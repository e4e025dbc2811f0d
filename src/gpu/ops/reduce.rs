//! Reductions (MEAN, SUM, REDUCE_MAX/MIN/PROD): shaders/reduce.wgsl over an
//! [outer, reduced, inner] view of the input, f32 accumulation; the kernel
//! ([`ReduceKernel::choose`]) folds whole rows per invocation when outputs are
//! many and rows short, and otherwise gives each output a workgroup combined
//! with subgroup operations on devices with SUBGROUP
//! (shaders/reduce_subgroup.wgsl), a workgroup-memory tree otherwise
//! (shaders/reduce_workgroup.wgsl); long rows of few outputs split into parts
//! ([`ReduceKernel::parts`]) whose f32 partial results a second dispatch folds.
//! CUMSUM: shaders/cumsum.wgsl, one invocation per line along the axis.
//! ARG_MAX/ARG_MIN: shaders/argminmax.wgsl over the same view of one axis, with an
//! int32 or int64 output (held as i32 on the GPU).

use super::data_is_f32;
use super::quant::is_quantized;
use super::tiling::{in_bounds, Adapter, ReduceKernel};
use super::{const_ints, LowerCtx};
use crate::error::Result;
use crate::gpu::program::Elem;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Reduce;
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/reduce.wgsl.
    struct ReduceParams {
        n: u32,
        r: u32,
        inner: u32,
        ident: f32,
        count: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

uniforms! {
    /// `Params` of shaders/cumsum.wgsl.
    struct CumsumParams {
        lines: u32,
        len: u32,
        inner: u32,
        flags: u32,
    }
}

uniforms! {
    /// `Params` of shaders/argminmax.wgsl.
    struct ArgParams {
        n: u32,
        r: u32,
        inner: u32,
        _pad: u32,
    }
}

/// The pieces of a reduction kernel: input, shared body, output, entry point.
macro_rules! reduce_shader {
    ($name:literal, $input:literal, $output:literal, $entry:literal) => {
        Shader {
            name: $name,
            parts: &[
                include_str!(concat!("../../../shaders/", $input)),
                include_str!("../../../shaders/reduce.wgsl"),
                include_str!(concat!("../../../shaders/", $output)),
                include_str!(concat!("../../../shaders/", $entry)),
            ],
            selectors: REDUCE_OPS,
            defines: &[],
            params: ReduceParams::LAYOUT,
        }
    };
}

static REDUCE: Shader = reduce_shader!(
    "reduce",
    "reduce_in.wgsl",
    "reduce_out.wgsl",
    "reduce_workgroup.wgsl"
);

static REDUCE_SUBGROUP: Shader = reduce_shader!(
    "reduce_subgroup",
    "reduce_in.wgsl",
    "reduce_out.wgsl",
    "reduce_subgroup.wgsl"
);

/// First dispatch of a row split into parts: f32 partial results.
static REDUCE_PARTS: Shader = reduce_shader!(
    "reduce_parts",
    "reduce_in.wgsl",
    "reduce_out_f32.wgsl",
    "reduce_workgroup.wgsl"
);

/// [`REDUCE_PARTS`] with subgroup operations.
static REDUCE_PARTS_SUBGROUP: Shader = reduce_shader!(
    "reduce_parts_subgroup",
    "reduce_in.wgsl",
    "reduce_out_f32.wgsl",
    "reduce_subgroup.wgsl"
);

/// Second dispatch of a row split into parts: each invocation folds one row's
/// f32 partial results into the output.
static REDUCE_FINAL: Shader = reduce_shader!(
    "reduce_final",
    "reduce_in_f32.wgsl",
    "reduce_out.wgsl",
    "reduce_workgroup.wgsl"
);

static CUMSUM: Shader = Shader {
    name: "cumsum",
    parts: &[include_str!("../../../shaders/cumsum.wgsl")],
    selectors: &[],
    defines: &[],
    params: CumsumParams::LAYOUT,
};

static ARGMINMAX: Shader = Shader {
    name: "argminmax",
    parts: &[include_str!("../../../shaders/argminmax.wgsl")],
    selectors: &[],
    defines: &[],
    params: ArgParams::LAYOUT,
};

/// The [outer, reduced, inner] view of reducing `axes` of `shape`, or why the
/// reduced axes are not one contiguous run once size-1 axes are dropped.
pub(super) fn reduce_view(shape: &[usize], axes: &[i64]) -> Support<[usize; 3]> {
    let rank = shape.len() as i64;
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if rank == 0 && (a == 0 || a == -1) {
            continue;
        }
        let r = if a < 0 { a + rank } else { a };
        if r < 0 || r >= rank {
            return Err(format!("axis {a} is out of range for {shape:?}").into());
        }
        reduced[r as usize] = true;
    }
    // Drop size-1 axes: they neither separate runs nor change counts.
    let kept: Vec<(usize, bool)> = shape
        .iter()
        .zip(&reduced)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &r)| (d, r))
        .collect();
    let first = kept.iter().position(|&(_, r)| r);
    let last = kept.iter().rposition(|&(_, r)| r);
    let (first, last) = match (first, last) {
        (Some(f), Some(l)) => (f, l),
        _ => return Ok([kept.iter().map(|&(d, _)| d).product(), 1, 1]),
    };
    if kept[first..=last].iter().any(|&(_, r)| !r) {
        return Err(format!("reduced axes {axes:?} of {shape:?} are not contiguous").into());
    }
    let prod = |s: &[(usize, bool)]| s.iter().map(|&(d, _)| d).product::<usize>();
    Ok([
        prod(&kept[..first]),
        prod(&kept[first..=last]),
        prod(&kept[last + 1..]),
    ])
}

selectors! {
    /// The reduction shaders/reduce.wgsl computes (`OP`).
    enum ReduceOp in REDUCE_OPS {
        Sum = 0 => "REDUCE_SUM",
        Mean = 1 => "REDUCE_MEAN",
        Max = 2 => "REDUCE_MAX",
        Min = 3 => "REDUCE_MIN",
        Prod = 4 => "REDUCE_PROD",
    }
}

/// Code of a float reduction in shaders/reduce.wgsl and its identity.
fn reduce_code(kind: Reduce) -> Option<(u32, f32)> {
    let (op, ident) = match kind {
        Reduce::Sum => (ReduceOp::Sum, 0.0),
        Reduce::Mean => (ReduceOp::Mean, 0.0),
        Reduce::Max => (ReduceOp::Max, f32::NEG_INFINITY),
        Reduce::Min => (ReduceOp::Min, f32::INFINITY),
        Reduce::Prod => (ReduceOp::Prod, 1.0),
        Reduce::Any | Reduce::All => return None,
    };
    Some((op as u32, ident))
}

/// The axis of CUMSUM as [outer, len, inner].
fn cumsum_view(shape: &[usize], axis: &[i64]) -> Support<[usize; 3]> {
    let rank = shape.len() as i64;
    let a = match axis {
        [a] => *a,
        _ => return Err("CUMSUM axis must hold exactly one value".into()),
    };
    let r = if a < 0 { a + rank } else { a };
    if r < 0 || r >= rank {
        return Err(format!("axis {a} is out of range for {shape:?}").into());
    }
    let r = r as usize;
    Ok([
        shape[..r].iter().product(),
        shape[r],
        shape[r + 1..].iter().product(),
    ])
}

fn view(node: &Node, sg: &Subgraph) -> Support<[usize; 3]> {
    let x = node.input(0).ok_or(Unsupported::from("missing input 0"))?;
    let a = node
        .input(1)
        .ok_or(Unsupported::from("missing axis input"))?;
    let shape = &sg.tensors[x].shape;
    let axes = const_ints(&sg.tensors[a])?;
    match node.op {
        Op::Cumsum { .. } | Op::ArgMax { .. } | Op::ArgMin { .. } => cumsum_view(shape, &axes),
        _ => reduce_view(shape, &axes),
    }
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    match node.op {
        Op::Reduce { kind, .. } => {
            reduce_code(kind)
                .ok_or_else(|| Unsupported::from(format!("{} runs on the CPU", node.op.name())))?;
        }
        Op::Cumsum { .. } => {}
        Op::ArgMax { .. } | Op::ArgMin { .. } => return support_arg(node, sg),
        _ => return Err(format!("{} is not a reduction", node.op.name()).into()),
    }
    data_is_f32(node, sg)?;
    let [outer, r, inner] = view(node, sg)?;
    let y = *node
        .outputs
        .first()
        .ok_or(Unsupported::from("missing output 0"))?;
    let n_out = sg.tensors[y].num_elements();
    let want = match node.op {
        Op::Cumsum { .. } => outer * r * inner,
        _ => outer * inner,
    };
    if n_out != want {
        return Err(format!("output has {n_out} elements, the reduction gives {want}").into());
    }
    Ok(())
}

/// Why an ARG_MAX/ARG_MIN node stays on the CPU (Ok: the GPU takes it).
fn support_arg(node: &Node, sg: &Subgraph) -> Support {
    let x = node.input(0).ok_or(Unsupported::from("missing input 0"))?;
    let info = &sg.tensors[x];
    if info.dtype != DType::F32 {
        return Err(format!(
            "tensor {} is {}, the GPU ARG_MAX/ARG_MIN takes float32",
            info.name, info.dtype
        )
        .into());
    }
    let [outer, r, inner] = view(node, sg)?;
    let y = *node
        .outputs
        .first()
        .ok_or(Unsupported::from("missing output 0"))?;
    let out = &sg.tensors[y];
    if !matches!(out.dtype, DType::I32 | DType::I64) {
        return Err(format!("output {} is {}, expected int32/int64", out.name, out.dtype).into());
    }
    if r == 0 {
        return Err("ARG_MAX/ARG_MIN over an empty axis".into());
    }
    if r > i32::MAX as usize {
        return Err("the axis is too long for int32 indices".into());
    }
    if out.num_elements() != outer * inner {
        return Err(format!(
            "output has {} elements, the reduction gives {}",
            out.num_elements(),
            outer * inner
        )
        .into());
    }
    Ok(())
}

/// Record the dispatch of a reduction or CUMSUM node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let [outer, r, inner] = view(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    match ctx.node.op {
        Op::Reduce { kind, .. } => {
            let (code, ident) =
                reduce_code(kind).ok_or_else(|| ctx.err("not a float reduction"))?;
            let n = outer * inner;
            let adapter = Adapter::of(ctx.b);
            let kernel = ReduceKernel::choose(n, r, inner, &adapter);
            let parts = kernel.parts(n, r, &adapter);
            let subgroup = kernel == ReduceKernel::Subgroup;
            let op = ("OP", code as f64);
            let per_invocation = |on: bool| ("PER_INVOCATION", f64::from(u8::from(on)));
            let params = |n: usize, r: usize, inner: usize| ReduceParams {
                n: n as u32,
                r: r as u32,
                inner: inner as u32,
                ident,
                count: r as u32,
                ..Default::default()
            };
            // Every row index is below outer * r * inner and every output below
            // n (the kernels guard the last workgroup): checks off when the
            // buffers hold that many.
            let trusted = in_bounds(&[
                (ctx.in_info(0)?.num_elements(), outer * r * inner),
                (ctx.out_info(0)?.num_elements(), n),
            ]);
            let x = ctx.input(0)?;
            let out = ctx.output(0)?;
            if parts > 1 {
                let partial = ctx.b.intermediate_of(n * parts, Elem::U32);
                let (shader, mut constants) = match subgroup {
                    true => (&REDUCE_PARTS_SUBGROUP, vec![op]),
                    false => (&REDUCE_PARTS, vec![op, per_invocation(false)]),
                };
                constants.push(("PARTS", parts as f64));
                ctx.dispatch_groups_trusted(
                    shader,
                    constants,
                    params(n, r, inner),
                    vec![x, partial],
                    (n * parts) as u64,
                    trusted,
                )?;
                return ctx.dispatch_groups_trusted(
                    &REDUCE_FINAL,
                    vec![op, per_invocation(true)],
                    ReduceParams {
                        count: r as u32,
                        ..params(n, parts, 1)
                    },
                    vec![partial, out],
                    ReduceKernel::PerInvocation.workgroups(n),
                    trusted,
                );
            }
            let (shader, constants) = match kernel {
                ReduceKernel::Subgroup => (&REDUCE_SUBGROUP, vec![op]),
                _ => (
                    &REDUCE,
                    vec![op, per_invocation(kernel == ReduceKernel::PerInvocation)],
                ),
            };
            ctx.dispatch_groups_trusted(
                shader,
                constants,
                params(n, r, inner),
                vec![x, out],
                kernel.workgroups(n),
                trusted,
            )
        }
        Op::Cumsum { exclusive, reverse } => {
            let lines = outer * inner;
            let flags = u32::from(exclusive) | (u32::from(reverse) << 1);
            let x = ctx.input(0)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                &CUMSUM,
                vec![],
                CumsumParams {
                    lines: lines as u32,
                    len: r as u32,
                    inner: inner as u32,
                    flags,
                },
                vec![x, out],
                lines as u64,
            )
        }
        Op::ArgMax { .. } | Op::ArgMin { .. } => {
            let code = u32::from(matches!(ctx.node.op, Op::ArgMin { .. }));
            let n = outer * inner;
            let x = ctx.input(0)?;
            let out = ctx.output(0)?;
            ctx.dispatch_groups(
                &ARGMINMAX,
                vec![("OP", code as f64)],
                ArgParams {
                    n: n as u32,
                    r: r as u32,
                    inner: inner as u32,
                    _pad: 0,
                },
                vec![x, out],
                n as u64,
            )
        }
        _ => Err(ctx.err("not a reduction")),
    }
}

gpu_op! {
    /// Float reductions (SUM, MEAN, REDUCE_MAX/MIN/PROD), CUMSUM, ARG_MAX and ARG_MIN.
    Reductions "reduce" {
        claims: |node, sg| {
            matches!(
                node.op,
                Op::Reduce { .. } | Op::Cumsum { .. } | Op::ArgMax { .. } | Op::ArgMin { .. }
            ) && !is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &REDUCE,
            &REDUCE_SUBGROUP,
            &REDUCE_PARTS,
            &REDUCE_PARTS_SUBGROUP,
            &REDUCE_FINAL,
            &CUMSUM,
            &ARGMINMAX,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views() {
        assert_eq!(reduce_view(&[2, 3, 4], &[1]), Ok([2, 3, 4]));
        assert_eq!(reduce_view(&[1, 7, 7, 8], &[1, 2]), Ok([1, 49, 8]));
        assert_eq!(reduce_view(&[2, 3, 4], &[-1, 2]), Ok([6, 4, 1]));
        assert_eq!(reduce_view(&[2, 1, 4], &[0, 2]), Ok([1, 8, 1]));
        assert!(reduce_view(&[2, 3, 4], &[0, 2]).is_err());
        assert!(reduce_view(&[2, 3, 4], &[3]).is_err());
        assert_eq!(reduce_view(&[2, 1, 4], &[1]), Ok([8, 1, 1]));
        assert_eq!(cumsum_view(&[2, 3, 4], &[-2]), Ok([2, 3, 4]));
    }
}
