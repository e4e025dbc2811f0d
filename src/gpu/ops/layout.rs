//! Data movement: free reshapes, concatenation, splits, slices, transposes, tiling,
//! packing, padding, depth/space rearrangement — all through one strided-copy kernel
//! (shaders/copy.wgsl).
//!
//! Each op is planned on the host from the tensors' static shapes and constant
//! parameters into a list of [`CopySpec`]s: one per dispatch, each copying (a view of)
//! one input into (a sub-region of) one output. The same planner backs the support
//! check, so a node is only accepted when it can be planned.

use super::copy_spec::{
    axis_of, ident, one_axis, strides_of, CopyParams, CopySpec, Dim, Mode, Plan, Res, View,
};
use super::LowerCtx;
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::{Activation, StridedSlice};
use crate::graph::shape::strided_slice_axes;
use crate::graph::{DType, Node, Op, Subgraph, TensorInfo};
use std::collections::HashMap;

const COPY_WGSL: &str = include_str!("../../../shaders/copy.wgsl");

static COPY: Shader = Shader {
    name: "copy",
    parts: &[
        include_str!("../../../shaders/copy_elem_float.wgsl"),
        COPY_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: CopyParams::LAYOUT,
};

static COPY_INT: Shader = Shader {
    name: "copy_int",
    parts: &[
        include_str!("../../../shaders/copy_elem_i32.wgsl"),
        COPY_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: CopyParams::LAYOUT,
};

/// Plan a node of this family.
fn plan(v: &View) -> Res<Plan> {
    match &v.node.op {
        Op::Reshape { .. } | Op::Squeeze { .. } | Op::ExpandDims => plan_alias(v),
        Op::Concatenation { axis, activation } => plan_concat(v, *axis, *activation),
        Op::Split { num_splits } => {
            let axis = one_axis(&v.ints(0, "split axis")?)?;
            let t = v.data(1)?;
            let axis = axis_of(axis, t.shape.len())?;
            let n = if *num_splits == 0 {
                v.node.outputs.len()
            } else {
                *num_splits
            };
            let dim = t.shape[axis];
            if n == 0 || dim % n != 0 {
                return Err(format!("dimension {dim} is not divisible into {n} pieces").into());
            }
            plan_split(v, 1, axis, &vec![dim / n; n], false)
        }
        Op::SplitV { num_splits } => {
            let t = v.data(0)?;
            let spec = v.ints(1, "size_splits")?;
            let axis = axis_of(one_axis(&v.ints(2, "split axis")?)?, t.shape.len())?;
            if *num_splits != 0 && spec.len() != *num_splits {
                return Err("size_splits length differs from num_splits".into());
            }
            let dim = t.shape[axis];
            let mut unknown = None;
            let mut sum = 0usize;
            let mut sizes = Vec::with_capacity(spec.len());
            for (i, &s) in spec.iter().enumerate() {
                if s == -1 {
                    if unknown.replace(i).is_some() {
                        return Err("more than one -1 in size_splits".into());
                    }
                    sizes.push(0);
                } else {
                    let s = usize::try_from(s)
                        .map_err(|_| Unsupported::from(format!("split size {s} < 0")))?;
                    sum = sum.saturating_add(s);
                    sizes.push(s);
                }
            }
            match unknown {
                Some(u) if sum <= dim => sizes[u] = dim - sum,
                None if sum == dim => {}
                _ => return Err(format!("sizes {spec:?} do not fit dimension {dim}").into()),
            }
            plan_split(v, 0, axis, &sizes, false)
        }
        Op::Unpack { axis, num } => {
            let t = v.data(0)?;
            let a = axis_of(*axis as i64, t.shape.len())?;
            let dim = t.shape[a];
            if *num != 0 && *num != dim {
                return Err(format!("num {num} differs from dimension {dim}").into());
            }
            plan_split(v, 0, a, &vec![1; dim], true)
        }
        Op::Pack { axis } => plan_pack(v, *axis),
        Op::Slice => plan_slice(v),
        Op::StridedSlice(p) => plan_strided_slice(v, p),
        Op::Transpose => plan_transpose(v),
        Op::Tile => plan_tile(v),
        Op::BroadcastTo => plan_broadcast(v),
        Op::Pad | Op::PadV2 => plan_pad(v, matches!(v.node.op, Op::PadV2)),
        Op::MirrorPad { symmetric } => plan_mirror_pad(v, *symmetric),
        Op::DepthToSpace { block_size } => plan_depth_to_space(v, *block_size),
        Op::SpaceToDepth { block_size } => plan_space_to_depth(v, *block_size),
        Op::ReverseV2 => plan_reverse(v),
        op => Err(format!("{} is not a layout op", op.name()).into()),
    }
}

fn plan_alias(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let o = v.out(0)?;
    v.check_type(o)?;
    if o.num_elements() != t.num_elements() {
        return Err(format!(
            "output {:?} does not hold the {} elements of {:?}",
            o.shape,
            t.num_elements(),
            t.shape
        )
        .into());
    }
    if let (Op::Reshape { .. }, Some(s)) = (&v.node.op, v.node.input(1)) {
        let s = &v.sg.tensors[s];
        if !s.is_constant() && s.num_elements() > 0 {
            return Err(format!("shape tensor {} is computed at runtime", s.name).into());
        }
    }
    if let (Op::ExpandDims, Some(_)) = (&v.node.op, v.node.input(1)) {
        v.ints(1, "expand_dims axis")?;
    }
    Ok(Plan::Alias)
}

fn plan_concat(v: &View, axis: i32, act: Activation) -> Res<Plan> {
    let n = v.num_inputs();
    if n == 0 {
        return Err("concatenation needs inputs".into());
    }
    let first = v.data(0)?.shape.clone();
    let rank = first.len();
    if rank == 0 {
        return Err("concatenation of scalars".into());
    }
    let axis = axis_of(axis as i64, rank)?;
    let clamp = match act {
        Activation::None => None,
        a if v.quantized() => {
            return Err(format!("fused {a:?} on quantized data runs on the CPU").into())
        }
        a => Some(
            a.range()
                .ok_or_else(|| Unsupported::from(format!("fused {a:?} runs on the CPU")))?,
        ),
    };
    let mut shape = first.clone();
    shape[axis] = 0;
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let s = &v.data(i)?.shape;
        if s.len() != rank || (0..rank).any(|d| d != axis && s[d] != first[d]) {
            return Err(format!("input {i} of shape {s:?} does not match {first:?}").into());
        }
        parts.push((i, s.clone(), shape[axis]));
        shape[axis] += s[axis];
    }
    v.check_out(0, &shape)?;
    let out_st = strides_of(&shape);
    let specs = parts
        .into_iter()
        .map(|(i, s, off)| {
            let mut c = CopySpec::new(i, 0, ident(&s)).out_strides(&shape);
            c.out_offset = off * out_st[axis];
            c.clamp = clamp;
            c
        })
        .collect();
    Ok(Plan::Copies(specs))
}

/// Split input `input` along `axis` into pieces of `sizes` (one per output); with
/// `drop_axis` the outputs lose the axis (unpack).
fn plan_split(v: &View, input: usize, axis: usize, sizes: &[usize], drop_axis: bool) -> Res<Plan> {
    let t = v.data(input)?;
    if sizes.len() != v.node.outputs.len() {
        return Err(format!(
            "{} pieces for {} outputs",
            sizes.len(),
            v.node.outputs.len()
        )
        .into());
    }
    let mut specs = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for (k, &s) in sizes.iter().enumerate() {
        let mut view = t.shape.clone();
        view[axis] = s;
        let mut out_shape = view.clone();
        if drop_axis {
            out_shape.remove(axis);
        }
        v.check_out(k, &out_shape)?;
        let mut dims = ident(&t.shape);
        dims[axis].size = s;
        dims[axis].start = start as i64;
        specs.push(CopySpec::new(input, k, dims).contiguous_out());
        start += s;
    }
    Ok(Plan::Copies(specs))
}

fn plan_pack(v: &View, axis: i32) -> Res<Plan> {
    let n = v.num_inputs();
    let first = v.data(0)?.shape.clone();
    let rank = first.len();
    let a = if axis < 0 {
        axis as i64 + rank as i64 + 1
    } else {
        axis as i64
    };
    if a < 0 || a > rank as i64 {
        return Err(format!("axis {axis} out of range for rank {rank}").into());
    }
    let a = a as usize;
    let mut view = first.clone();
    view.insert(a, 1);
    let mut shape = first.clone();
    shape.insert(a, n);
    v.check_out(0, &shape)?;
    let out_st = strides_of(&shape);
    let mut specs = Vec::with_capacity(n);
    for i in 0..n {
        if v.data(i)?.shape != first {
            return Err(format!("input {i} differs from input 0").into());
        }
        let mut c = CopySpec::new(i, 0, ident(&view)).out_strides(&shape);
        c.out_offset = i * out_st[a];
        specs.push(c);
    }
    Ok(Plan::Copies(specs))
}

fn plan_slice(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let begin = v.ints(1, "slice begin")?;
    let size = v.ints(2, "slice size")?;
    let rank = t.shape.len();
    if begin.len() != rank || size.len() != rank {
        return Err("begin and size must have one value per dimension".into());
    }
    let mut dims = ident(&t.shape);
    for d in 0..rank {
        let dim = t.shape[d] as i64;
        let s = if size[d] == -1 {
            dim - begin[d]
        } else {
            size[d]
        };
        if begin[d] < 0 || s < 0 || begin[d] + s > dim {
            return Err(format!(
                "begin {} size {} out of range for dimension {dim}",
                begin[d], size[d]
            )
            .into());
        }
        dims[d].start = begin[d];
        dims[d].size = s as usize;
    }
    let spec = CopySpec::new(0, 0, dims).contiguous_out();
    let shape: Vec<usize> = spec.dims.iter().map(|d| d.size).collect();
    v.check_out(0, &shape)?;
    Ok(Plan::Copies(vec![spec]))
}

fn plan_strided_slice(v: &View, p: &StridedSlice) -> Res<Plan> {
    let t = v.data(0)?;
    let begin = v.ints(1, "strided_slice begin")?;
    let end = v.ints(2, "strided_slice end")?;
    let strides = match v.node.input(3) {
        Some(_) => v.ints(3, "strided_slice strides")?,
        None => vec![1; begin.len()],
    };
    let axes =
        strided_slice_axes(&t.shape, &begin, &end, &strides, p).map_err(|e| e.to_string())?;
    let out_shape: Vec<usize> = axes.iter().filter(|a| !a.4).map(|a| a.0).collect();
    v.check_out(0, &out_shape)?;
    if out_shape.contains(&0) {
        return Ok(Plan::Copies(vec![]));
    }
    // Fold axes of one element into the base offset; the rest index the region.
    let mut base = 0i64;
    let mut dims = Vec::new();
    for &(count, start, step, st, _) in &axes {
        if count == 1 {
            base += start * st;
        } else {
            dims.push(Dim {
                size: count,
                out_stride: 0,
                step,
                start,
                in_dim: 0,
                in_stride: st,
                mode: Mode::Direct,
            });
        }
    }
    let mut spec = CopySpec::new(0, 0, dims).contiguous_out();
    spec.base = base;
    Ok(Plan::Copies(vec![spec]))
}

fn plan_transpose(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let rank = t.shape.len();
    let perm = v.ints(1, "transpose perm")?;
    if perm.len() != rank {
        return Err(format!("perm {perm:?} does not fit rank {rank}").into());
    }
    let st = strides_of(&t.shape);
    let mut seen = vec![false; rank];
    let mut dims = Vec::with_capacity(rank);
    for &p in &perm {
        if p < 0 {
            return Err(format!("perm {perm:?} is out of bounds").into());
        }
        let a = axis_of(p, rank)?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(format!("perm {perm:?} repeats an axis").into());
        }
        dims.push(Dim::direct(t.shape[a], st[a] as i64));
    }
    let spec = CopySpec::new(0, 0, dims).contiguous_out();
    let shape: Vec<usize> = spec.dims.iter().map(|d| d.size).collect();
    v.check_out(0, &shape)?;
    Ok(Plan::Copies(vec![spec]))
}

fn plan_tile(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let m = v.ints(1, "tile multiples")?;
    let rank = t.shape.len();
    if m.len() != rank {
        return Err(format!("multiples {m:?} do not fit rank {rank}").into());
    }
    let mut dims = ident(&t.shape);
    for (d, &k) in dims.iter_mut().zip(&m) {
        let k =
            usize::try_from(k).map_err(|_| Unsupported::from(format!("tile multiple {k} < 0")))?;
        d.size = d
            .size
            .checked_mul(k)
            .ok_or(Unsupported::from("output shape overflows"))?;
        d.mode = Mode::Modulo;
    }
    let spec = CopySpec::new(0, 0, dims).contiguous_out();
    let shape: Vec<usize> = spec.dims.iter().map(|d| d.size).collect();
    v.check_out(0, &shape)?;
    if shape.contains(&0) {
        return Ok(Plan::Copies(vec![]));
    }
    Ok(Plan::Copies(vec![spec]))
}

fn plan_broadcast(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let target = v
        .ints(1, "broadcast_to shape")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| Unsupported::from(format!("dimension {d} < 0"))))
        .collect::<Res<Vec<_>>>()?;
    let r = target.len();
    if t.shape.len() > r {
        return Err(format!("{:?} does not broadcast to {target:?}", t.shape).into());
    }
    let mut ins = vec![1usize; r - t.shape.len()];
    ins.extend_from_slice(&t.shape);
    let st = strides_of(&ins);
    let mut dims = Vec::with_capacity(r);
    for d in 0..r {
        let stride = if ins[d] == target[d] {
            st[d] as i64
        } else if ins[d] == 1 {
            0
        } else {
            return Err(format!("{:?} does not broadcast to {target:?}", t.shape).into());
        };
        dims.push(Dim::direct(target[d], stride));
    }
    v.check_out(0, &target)?;
    let spec = CopySpec::new(0, 0, dims).contiguous_out();
    if target.contains(&0) {
        return Ok(Plan::Copies(vec![]));
    }
    Ok(Plan::Copies(vec![spec]))
}

/// (before, after) pairs of the constant [rank, 2] paddings in input 1.
fn paddings(v: &View, rank: usize) -> Res<Vec<(i64, i64)>> {
    let p = v.info(1)?;
    let vals = v.ints(1, "paddings")?;
    if !(p.shape == [rank, 2] || (rank == 0 && vals.is_empty())) {
        return Err(format!("paddings of shape {:?} do not fit rank {rank}", p.shape).into());
    }
    Ok(vals.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

fn plan_pad(v: &View, v2: bool) -> Res<Plan> {
    let t = v.data(0)?;
    let rank = t.shape.len();
    let pads = paddings(v, rank)?;
    let value = match v.node.input(2) {
        Some(k) if v2 => {
            let c = &v.sg.tensors[k];
            match (&c.data, c.dtype) {
                (Some(d), DType::F32) if d.len() == 4 => {
                    f32::from_le_bytes([d[0], d[1], d[2], d[3]])
                }
                (Some(d), DType::I8) if d.len() == 1 && v.quantized() => d[0] as i8 as f32,
                (Some(d), DType::U8) if d.len() == 1 && v.quantized() => d[0] as f32,
                (None, _) => {
                    return Err(format!("pad value {} is computed at runtime", c.name).into())
                }
                _ => return Err("pad value must be one element of the data type".into()),
            }
        }
        // Quantized PAD fills with the output's zero point (real 0).
        _ if v.quantized() => super::quant::qparams(v.out(0)?)?.1 as f32,
        _ => 0.0,
    };
    let mut dims = ident(&t.shape);
    for (d, &(b, a)) in dims.iter_mut().zip(&pads) {
        if b < 0 || a < 0 {
            return Err(format!("negative padding {b},{a}").into());
        }
        d.size = (d.in_dim + b + a) as usize;
        d.start = -b;
        d.mode = Mode::Pad;
    }
    let mut spec = CopySpec::new(0, 0, dims).contiguous_out();
    spec.pad_value = value;
    let shape: Vec<usize> = spec.dims.iter().map(|d| d.size).collect();
    v.check_out(0, &shape)?;
    if shape.contains(&0) {
        return Ok(Plan::Copies(vec![]));
    }
    if t.num_elements() == 0 {
        return Err("padding an empty tensor".into());
    }
    Ok(Plan::Copies(vec![spec]))
}

fn plan_mirror_pad(v: &View, symmetric: bool) -> Res<Plan> {
    let t = v.data(0)?;
    let rank = t.shape.len();
    let pads = paddings(v, rank)?;
    let mut dims = ident(&t.shape);
    for (d, &(b, a)) in dims.iter_mut().zip(&pads) {
        let n = d.in_dim;
        let max = if symmetric { n } else { n - 1 };
        if b < 0 || a < 0 || (b > max && b > 0) || (a > max && a > 0) {
            return Err(format!("padding {b},{a} out of range for dimension {n}").into());
        }
        d.size = (n + b + a) as usize;
        d.start = -b;
        d.mode = if symmetric {
            Mode::Symmetric
        } else {
            Mode::Reflect
        };
    }
    let spec = CopySpec::new(0, 0, dims).contiguous_out();
    let shape: Vec<usize> = spec.dims.iter().map(|d| d.size).collect();
    v.check_out(0, &shape)?;
    if shape.contains(&0) {
        return Ok(Plan::Copies(vec![]));
    }
    Ok(Plan::Copies(vec![spec]))
}

/// NHWC dims of a rank-4 input.
fn nhwc(t: &TensorInfo) -> Res<[usize; 4]> {
    match t.shape[..] {
        [n, h, w, c] => Ok([n, h, w, c]),
        _ => Err(format!("expected a 4-D NHWC input, got {:?}", t.shape).into()),
    }
}

fn plan_depth_to_space(v: &View, bs: usize) -> Res<Plan> {
    let t = v.data(0)?;
    let [n, h, w, c] = nhwc(t)?;
    if bs == 0 || c % (bs * bs) != 0 {
        return Err(format!("depth {c} not divisible by block {bs} squared").into());
    }
    let oc = c / (bs * bs);
    v.check_out(0, &[n, h * bs, w * bs, oc])?;
    // Output viewed as [n, h, by, w, bx, oc] (DCR order).
    let dims = vec![
        Dim::direct(n, (h * w * c) as i64),
        Dim::direct(h, (w * c) as i64),
        Dim::direct(bs, (bs * oc) as i64),
        Dim::direct(w, c as i64),
        Dim::direct(bs, oc as i64),
        Dim::direct(oc, 1),
    ];
    Ok(Plan::Copies(vec![
        CopySpec::new(0, 0, dims).contiguous_out()
    ]))
}

fn plan_space_to_depth(v: &View, bs: usize) -> Res<Plan> {
    let t = v.data(0)?;
    let [n, h, w, c] = nhwc(t)?;
    if bs == 0 || h % bs != 0 || w % bs != 0 {
        return Err(format!("{h}x{w} not divisible by block {bs}").into());
    }
    let (oh, ow) = (h / bs, w / bs);
    v.check_out(0, &[n, oh, ow, bs * bs * c])?;
    // Output viewed as [n, oh, ow, by, bx, c].
    let dims = vec![
        Dim::direct(n, (h * w * c) as i64),
        Dim::direct(oh, (bs * w * c) as i64),
        Dim::direct(ow, (bs * c) as i64),
        Dim::direct(bs, (w * c) as i64),
        Dim::direct(bs, c as i64),
        Dim::direct(c, 1),
    ];
    Ok(Plan::Copies(vec![
        CopySpec::new(0, 0, dims).contiguous_out()
    ]))
}

fn plan_reverse(v: &View) -> Res<Plan> {
    let t = v.data(0)?;
    let rank = t.shape.len();
    let mut dims = ident(&t.shape);
    for a in v.ints(1, "reverse axes")? {
        let d = &mut dims[axis_of(a, rank)?];
        d.step = -1;
        d.start = d.size as i64 - 1;
    }
    v.check_out(0, &t.shape)?;
    Ok(Plan::Copies(vec![
        CopySpec::new(0, 0, dims).contiguous_out()
    ]))
}

/// Whether `op` only moves data: the ops this file lowers (float, integer or raw
/// quantized values alike).
pub fn is_layout(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape { .. }
            | Op::Squeeze { .. }
            | Op::ExpandDims
            | Op::Concatenation { .. }
            | Op::Split { .. }
            | Op::SplitV { .. }
            | Op::Slice
            | Op::StridedSlice(_)
            | Op::Transpose
            | Op::Tile
            | Op::Pack { .. }
            | Op::Unpack { .. }
            | Op::Pad
            | Op::PadV2
            | Op::MirrorPad { .. }
            | Op::DepthToSpace { .. }
            | Op::SpaceToDepth { .. }
            | Op::BroadcastTo
            | Op::ReverseV2
    )
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    match plan(&View { node, sg })? {
        Plan::Alias => Ok(()),
        Plan::Copies(specs) => {
            for s in &specs {
                s.params()?;
            }
            Ok(())
        }
    }
}

/// Record the dispatches of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let planned = plan(&View {
        node: ctx.node,
        sg: ctx.sg,
    })
    .map_err(|e| ctx.err(e))?;
    let specs = match planned {
        Plan::Alias => return ctx.alias_output(0, 0),
        Plan::Copies(specs) => specs,
    };
    let quantized = View {
        node: ctx.node,
        sg: ctx.sg,
    }
    .quantized();
    let shader = if quantized { &COPY_INT } else { &COPY };
    let mut outs = HashMap::new();
    for k in 0..ctx.node.outputs.len() {
        outs.insert(k, ctx.output(k)?);
    }
    if !quantized && concat_in_place(ctx, &specs, &outs)? {
        return Ok(());
    }
    for s in &specs {
        let n = s.elements();
        if n == 0 {
            continue;
        }
        let params = s.params().map_err(|e| ctx.err(e))?;
        let src = ctx.input(s.input)?;
        let dst = *outs
            .get(&s.output)
            .ok_or_else(|| ctx.err(format!("missing output {}", s.output)))?;
        ctx.dispatch(shader, vec![], params, vec![src, dst], n as u64)?;
    }
    Ok(())
}

/// A CONCATENATION along an outer axis (every dimension before it is 1) whose
/// delegate allows it (`Fused::in_place`): its inputs' producers write straight into
/// their slices of the output and no copy runs. False when it cannot be done (see
/// `ProgramBuilder::place_into`); then the copies run.
fn concat_in_place(
    ctx: &mut LowerCtx,
    specs: &[CopySpec],
    outs: &HashMap<usize, super::BufId>,
) -> Result<bool> {
    let Op::Concatenation {
        axis,
        activation: Activation::None,
    } = ctx.node.op
    else {
        return Ok(false);
    };
    if !ctx.fused.as_ref().is_some_and(|f| f.in_place) {
        return Ok(false);
    }
    let out = ctx.out_info(0)?;
    let shape = out.shape.clone();
    let Some(elem) = super::Elem::of(out.dtype) else {
        return Ok(false);
    };
    let axis = axis_of(axis as i64, shape.len()).map_err(|e| ctx.err(e))?;
    if shape[..axis].iter().any(|&d| d != 1) {
        return Ok(false);
    }
    let Some(&whole) = outs.get(&0) else {
        return Ok(false);
    };
    let mut parts = Vec::with_capacity(specs.len());
    for s in specs {
        let t = ctx.node.input(s.input);
        if t.is_none_or(|t| !ctx.bufs.contains_key(&t)) {
            return Ok(false);
        }
        parts.push((ctx.input(s.input)?, s.out_offset));
    }
    Ok(ctx.b.place_into(&parts, whole, elem))
}

gpu_op! {
    /// Data movement on float or quantized data (see [`is_layout`]).
    Layout "layout" {
        claims: |node, _| is_layout(&node.op),
        support: support,
        lower: lower,
        shaders: [
            &COPY,
            &COPY_INT,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ints(name: &str, v: &[i32], shape: Vec<usize>) -> TensorInfo {
        let mut t = TensorInfo::new(name.to_string(), DType::I32, shape);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        t
    }

    fn graph(op: Op, tensors: Vec<TensorInfo>) -> (Node, Subgraph) {
        let n = tensors.len();
        let node = Node {
            op,
            inputs: (0..n - 1).map(Some).collect(),
            outputs: vec![n - 1],
        };
        let sg = Subgraph {
            name: "t".into(),
            tensors,
            nodes: vec![],
            inputs: vec![0],
            outputs: vec![n - 1],
        };
        (node, sg)
    }

    #[test]
    fn runtime_parameters_are_refused_with_a_reason() {
        let (node, sg) = graph(
            Op::Transpose,
            vec![
                TensorInfo::new("x", DType::F32, vec![2, 3]),
                TensorInfo::new("perm", DType::I32, vec![2]),
                TensorInfo::new("y", DType::F32, vec![3, 2]),
            ],
        );
        let e = support(&node, &sg).unwrap_err().to_string();
        assert!(e.contains("runtime"), "{e}");
        let (node, sg) = graph(
            Op::Transpose,
            vec![
                TensorInfo::new("x", DType::F32, vec![2, 3]),
                ints("perm", &[1, 0], vec![2]),
                TensorInfo::new("y", DType::F32, vec![3, 2]),
            ],
        );
        assert_eq!(support(&node, &sg), Ok(()));
    }

    #[test]
    fn integer_data_is_refused() {
        let (node, sg) = graph(
            Op::Tile,
            vec![
                TensorInfo::new("x", DType::I32, vec![2, 3]),
                ints("m", &[1, 2], vec![2]),
                TensorInfo::new("y", DType::I32, vec![2, 6]),
            ],
        );
        let e = support(&node, &sg).unwrap_err().to_string();
        assert!(e.contains("float32"), "{e}");
    }

    #[test]
    fn strided_slice_folds_single_element_axes() {
        let p = StridedSlice {
            shrink_axis_mask: 0b01,
            ..Default::default()
        };
        let axes = strided_slice_axes(&[4, 5], &[-1, 4], &[0, 0], &[1, -2], &p).unwrap();
        assert_eq!(axes, vec![(1, 3, 1, 5, true), (2, 4, -2, 1, false)]);
    }
}
