//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and MediaPipe's
//! Convolution2DTransposeBias (shaders/conv2d.wgsl, shaders/depthwise_conv2d.wgsl,
//! shaders/transpose_conv.wgsl).
//!
//! The CONV_2D and DEPTHWISE_CONV_2D bodies are shared with the integer kernels
//! (int8.rs): each kernel is its variant's hooks (input load, weight load,
//! accumulator type, epilogue) in front of the one body. The float hooks are
//! shaders/conv2d_float.wgsl and shaders/depthwise_conv2d_float.wgsl, with the
//! input and weight loads from defines; the variants are put together in
//! shaders.rs. Where the channel layout aligns them ([`quad_input`],
//! [`quad_depthwise`]) activations are read as vec4 quads, else one element at
//! a time.
//!
//! Weights must be constants (constant folding turns DEQUANTIZE of float16 weights
//! into constants): they are re-laid out here so that each invocation reads 4
//! consecutive output channels as one vec4. Biases are kept in f32.
//!
//! Dynamic-range (hybrid) models give CONV_2D and DEPTHWISE_CONV_2D int8 weights
//! with float activations: the weights stay int8 on the GPU, packed four to a u32
//! word in the same layout, and are dequantized inside the kernel (the i8 weights
//! accumulate in f32 and each channel's sum is multiplied by its scale), so they
//! take a quarter of the memory of float32 weights.

use super::dw_pointwise::{self, DW_POINTWISE, DW_POINTWISE_X4};
use super::geometry::{
    dims4, fc_geom, geom, pack_conv, quad_depthwise, quad_input, ConvNode, Kind,
};
use super::occupancy::fuse_pointwise;
use super::shaders::{
    conv2d_shader, Conv2dParams, DepthwiseParams, TransposeConvParams, CONV2D, CONV2D_DIRECT,
    CONV2D_DIRECT_X4, CONV2D_W8, CONV2D_W8_DIRECT, CONV2D_W8_DIRECT_X4, CONV2D_W8_X4, CONV2D_X4,
    DEPTHWISE_CONV2D, DEPTHWISE_CONV2D_W8, DEPTHWISE_CONV2D_W8_X4, DEPTHWISE_CONV2D_X4,
    TRANSPOSE_CONV,
};
use super::tiling::{depthwise_invocations, ConvTiles};
use crate::error::Result;
use crate::gpu::ops::epilogue::{self, Fused};
use crate::gpu::ops::quant::{has_int8_weights, input, int8_weights, is_quantized, weight_scales};
use crate::gpu::ops::tiling::{in_bounds, Adapter};
use crate::gpu::ops::{float_io, BufId, LowerCtx};
use crate::gpu::pipeline::WORKGROUP_SIZE;
use crate::gpu::verdict::Support;
use crate::graph::op::Activation;
use crate::graph::{DType, Node, Op, Subgraph};

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    if let Op::TransposeConv(_) = node.op {
        // The output-shape operand is an int32 constant; check the float tensors only.
        for (k, t) in node.inputs.iter().enumerate() {
            if let Some(t) = t {
                let info = &sg.tensors[*t];
                if k != 0 && info.dtype != DType::F32 {
                    return Err(format!(
                        "tensor {} is {}, the GPU path runs float32 tensors",
                        info.name, info.dtype
                    )
                    .into());
                }
            }
        }
        for &t in &node.outputs {
            let info = &sg.tensors[t];
            if info.dtype != DType::F32 {
                return Err(format!(
                    "tensor {} is {}, the GPU path runs float32 tensors",
                    info.name, info.dtype
                )
                .into());
            }
        }
    } else {
        float_io(node, sg)?;
    }
    let g = node_geom(node, sg)?;
    let f = input(node, sg, 1)?;
    match (f.dtype, g.kind) {
        (DType::F32, _) => {}
        (DType::I8, Kind::Conv | Kind::Depthwise) => {
            hybrid_scales(node, sg, &g)?;
        }
        (d, _) => {
            return Err(format!(
                "filter {} is {d}; the GPU kernels take float32 or int8 weights",
                f.name
            )
            .into())
        }
    }
    Ok(())
}

/// The geometry of a convolution, or of FULLY_CONNECTED as a 1x1 convolution
/// (hybrid FULLY_CONNECTED runs on the convolution kernel).
fn node_geom(node: &Node, sg: &Subgraph) -> Support<ConvNode> {
    match &node.op {
        Op::FullyConnected(p) => {
            if p.activation.range().is_none() {
                return Err(format!("fused {:?} runs on the CPU", p.activation).into());
            }
            fc_geom(node, sg, p.activation)
        }
        _ => geom(node, sg),
    }
}

/// The per-channel scales of hybrid (int8) weights, checked with the weights.
fn hybrid_scales(node: &Node, sg: &Subgraph, g: &ConvNode) -> Support<Vec<f32>> {
    let f = input(node, sg, 1)?;
    int8_weights(f)?;
    let axis = if g.kind == Kind::Depthwise { 3 } else { 0 };
    weight_scales(f, g.oc, axis)
}

/// Bias values (zeros when absent) as an f32 constant buffer, followed by the
/// per-channel weight scales of hybrid weights.
fn bias_buf(ctx: &mut LowerCtx, g: &ConvNode, scales: &[f32]) -> Result<BufId> {
    let mut bias = if ctx.has_input(g.bias_idx) {
        ctx.const_f32(g.bias_idx)?
    } else {
        vec![0.0; g.oc]
    };
    bias.extend_from_slice(scales);
    Ok(ctx.b.constant_f32(&bias))
}

/// The int8 weights and their scales when the filter is int8 (hybrid), else None.
fn hybrid(ctx: &LowerCtx, g: &ConvNode) -> Result<Option<(Vec<u8>, Vec<f32>)>> {
    if ctx.in_info(1)?.dtype != DType::I8 {
        return Ok(None);
    }
    let scales = hybrid_scales(ctx.node, ctx.sg, g).map_err(|e| ctx.err(e))?;
    let bytes = int8_weights(ctx.in_info(1)?).map_err(|e| ctx.err(e))?;
    let bytes = match g.kind {
        Kind::Conv => pack_conv(bytes, g),
        _ => bytes.to_vec(),
    };
    Ok(Some((bytes, scales)))
}

/// The clamp range of a fused activation (none: unbounded).
fn clamp_range(act: Activation) -> (f32, f32) {
    act.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY))
}

/// Record the dispatches of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let mut g = node_geom(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let fused = ctx.fused.clone().unwrap_or_default();
    if !fused.steps.is_empty() && g.kind != Kind::Conv && fused.pointwise.is_none() {
        return Err(ctx.err("only CONV_2D applies fused element-wise steps"));
    }
    // A zero PAD of the spatial axes in front: read its input with more padding.
    let padded_input = match fused.input_pad {
        Some(pad) if matches!(g.kind, Kind::Conv | Kind::Depthwise) => {
            let [_, ih, iw, _] =
                dims4(&ctx.sg.tensors[pad.tensor], "padded input").map_err(|e| ctx.err(e))?;
            g.geo.ih = ih;
            g.geo.iw = iw;
            g.geo.pt += pad.top;
            g.geo.pl += pad.left;
            let b = *ctx
                .bufs
                .get(&pad.tensor)
                .ok_or_else(|| ctx.err("the fused PAD's input is not on the GPU yet"))?;
            Some(b)
        }
        Some(_) => return Err(ctx.err("only convolutions absorb a PAD")),
        None => None,
    };
    let hybrid = hybrid(ctx, &g)?;
    let filter = match hybrid {
        Some(_) => Vec::new(),
        None => ctx.const_f32(1)?,
    };
    let scales = hybrid.as_ref().map_or(&[][..], |(_, s)| &s[..]).to_vec();
    let (lo, hi) = clamp_range(g.act);
    // Elements of the buffer the data input binds: the fused PAD's input, or
    // the node's own input.
    let x_len = match fused.input_pad {
        Some(pad) => ctx.sg.tensors[pad.tensor].num_elements(),
        None => ctx.in_info(g.x_idx)?.num_elements(),
    };
    let data_input = |ctx: &mut LowerCtx| match padded_input {
        Some(b) => Ok(b),
        None => ctx.input(g.x_idx),
    };
    let u = |v: usize| v as u32;
    match g.kind {
        Kind::Conv => {
            let tiles = ConvTiles::choose(&g, &Adapter::of(ctx.b));
            let (groups, ocg, ocq) = (tiles.groups, tiles.ocg, tiles.ocq);
            let k = g.geo.kh * g.geo.kw * g.fic;
            let x = data_input(ctx)?;
            let ep = epilogue::prepare(ctx, [g.geo.oh, g.geo.ow, g.oc], x)?;
            let [e0, e1] = ep.buffers;
            let params = Conv2dParams {
                g: g.uniforms(tiles.total()),
                ocg: u(ocg),
                ocq: u(ocq),
                groups: u(groups),
                act_min: lo,
                act_max: hi,
                e: ep.params,
                ..Default::default()
            };
            let w_quads = match &hybrid {
                Some((bytes, _)) => bytes.len() / 4,
                None => groups * k * ocq,
            };
            let shader = conv2d_shader(tiles.direct, quad_input(&g), hybrid.is_some());
            let w = match &hybrid {
                Some((bytes, _)) => ctx.b.constant_packed(bytes),
                None => {
                    // OHWI -> [group][k][ocq * 4], zero-padded.
                    let mut packed = vec![0.0f32; groups * k * ocq * 4];
                    for grp in 0..groups {
                        for o in 0..ocg {
                            let src = &filter[(grp * ocg + o) * k..(grp * ocg + o + 1) * k];
                            for (kk, &v) in src.iter().enumerate() {
                                packed[(grp * k + kk) * ocq * 4 + o] = v;
                            }
                        }
                    }
                    ctx.b.constant(&packed)
                }
            };
            let bias = bias_buf(ctx, &g, &scales)?;
            let out = ctx.output(0)?;
            epilogue::bind_output(ctx, out);
            let out_len = ctx.out_info(0)?.num_elements();
            let needed_out = tiles.pixels * g.oc;
            // Fused element-wise steps read their operands with index math of their
            // own (broadcasts, channel pads, pooled skips): only a plain epilogue
            // is trusted.
            let trusted = fused.steps.is_empty()
                && in_bounds(&[
                    (x_len, g.geo.n * g.geo.ih * g.geo.iw * g.geo.ic),
                    (w_quads, groups * k * ocq),
                    (
                        g.oc + scales.len(),
                        g.oc * if hybrid.is_some() { 2 } else { 1 },
                    ),
                    (out_len, needed_out),
                ]);
            let mut constants = tiles.constants();
            constants.extend(ep.constants);
            ctx.dispatch_sized(
                shader,
                constants,
                params,
                vec![x, w, bias, e0, e1, out],
                (tiles.workgroups, tiles.workgroup_size()),
                trusted,
            )
        }
        Kind::Depthwise => {
            if let Some(pw) = fused.pointwise {
                let c = geom(&ctx.sg.nodes[pw], ctx.sg).map_err(|e| ctx.err(e))?;
                if !fuse_pointwise(g.oc, c.oc, Adapter::of(ctx.b).cpu) {
                    return lower_apart(ctx, pw);
                }
                let x = data_input(ctx)?;
                return dw_pointwise::lower(ctx, &g, x, pw);
            }
            // Channel quads: 4 channels per invocation.
            let quads = quad_depthwise(&g);
            let total = depthwise_invocations(&g) / if quads { 4 } else { 1 };
            let params = DepthwiseParams {
                g: g.uniforms(total),
                act_min: lo,
                act_max: hi,
            };
            let x = data_input(ctx)?;
            let (w, shader) = match (&hybrid, quads) {
                (Some((bytes, _)), true) => (ctx.b.constant_packed(bytes), &DEPTHWISE_CONV2D_W8_X4),
                (Some((bytes, _)), false) => (ctx.b.constant_packed(bytes), &DEPTHWISE_CONV2D_W8),
                (None, true) => (ctx.input(1)?, &DEPTHWISE_CONV2D_X4),
                (None, false) => (ctx.input(1)?, &DEPTHWISE_CONV2D),
            };
            let bias = bias_buf(ctx, &g, &scales)?;
            let out = ctx.output(0)?;
            let w_len = match &hybrid {
                Some((bytes, _)) => bytes.len(),
                None => ctx.in_info(1)?.num_elements(),
            };
            let trusted = in_bounds(&[
                (x_len, g.geo.n * g.geo.ih * g.geo.iw * g.geo.ic),
                (w_len, g.geo.kh * g.geo.kw * g.oc),
                (
                    g.oc + scales.len(),
                    g.oc * if hybrid.is_some() { 2 } else { 1 },
                ),
                (
                    ctx.out_info(0)?.num_elements(),
                    g.geo.n * g.geo.oh * g.geo.ow * g.oc,
                ),
            ]);
            ctx.dispatch_groups_trusted(
                shader,
                vec![],
                params,
                vec![x, w, bias, out],
                total.div_ceil(WORKGROUP_SIZE as usize) as u64,
                trusted,
            )
        }
        Kind::Transpose => {
            let ocq = g.oc.div_ceil(4);
            // OHWI -> [ky][kx][ci][ocq * 4], zero-padded.
            let mut packed = vec![0.0f32; g.geo.kh * g.geo.kw * g.geo.ic * ocq * 4];
            for o in 0..g.oc {
                for ky in 0..g.geo.kh {
                    for kx in 0..g.geo.kw {
                        for c in 0..g.geo.ic {
                            packed[((ky * g.geo.kw + kx) * g.geo.ic + c) * ocq * 4 + o] =
                                filter[((o * g.geo.kh + ky) * g.geo.kw + kx) * g.geo.ic + c];
                        }
                    }
                }
            }
            let total = g.geo.n * g.geo.oh * g.geo.ow * ocq;
            let params = TransposeConvParams {
                total: u(total),
                ih: u(g.geo.ih),
                iw: u(g.geo.iw),
                ic: u(g.geo.ic),
                oh: u(g.geo.oh),
                ow: u(g.geo.ow),
                oc: u(g.oc),
                kh: u(g.geo.kh),
                kw: u(g.geo.kw),
                ocq: u(ocq),
                sh: u(g.geo.sh),
                sw: u(g.geo.sw),
                pt: u(g.geo.pt),
                pl: u(g.geo.pl),
                act_min: lo,
                act_max: hi,
            };
            let x = ctx.input(g.x_idx)?;
            let w = ctx.b.constant(&packed);
            let bias = bias_buf(ctx, &g, &scales)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                &TRANSPOSE_CONV,
                vec![],
                params,
                vec![x, w, bias, out],
                total as u64,
            )
        }
    }
}

/// A depthwise + 1x1 group that does not fuse on this adapter
/// ([`fuse_pointwise`]): the depthwise node alone (with the group's input PAD)
/// into its own output, then the 1x1 node on the tiled kernel with the
/// group's element-wise steps (a residual ADD...) in its epilogue. Each
/// dispatch names the nodes it does.
fn lower_apart(ctx: &mut LowerCtx, pw: usize) -> Result<()> {
    let sg = ctx.sg;
    let fused = ctx.fused.take().unwrap_or_default();
    let absorbed = std::mem::take(&mut ctx.absorbed);
    let x = ctx.node.input(0);
    let (pad, rest): (Vec<usize>, Vec<usize>) = absorbed
        .into_iter()
        .filter(|&n| n != pw)
        .partition(|&n| x.is_some() && sg.nodes[n].outputs.first().copied() == x);
    ctx.fused = Some(Fused {
        input_pad: fused.input_pad,
        ..Fused::default()
    });
    ctx.absorbed = pad;
    lower(ctx)?;
    let mut pointwise = LowerCtx {
        b: &mut *ctx.b,
        sg,
        index: pw,
        node: &sg.nodes[pw],
        bufs: &mut *ctx.bufs,
        fused: Some(Fused {
            steps: fused.steps,
            output: fused.output,
            ..Fused::default()
        }),
        absorbed: rest,
        eval: ctx.eval,
    };
    lower(&mut pointwise)
}

gpu_op! {
    /// Float convolutions (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and its bias
    /// variant), including hybrid ones with int8 weights, and FULLY_CONNECTED with
    /// int8 weights.
    Conv "conv" {
        claims: |node, sg| {
            let ours = match node.op {
                Op::Conv2D(_)
                | Op::DepthwiseConv2D(_)
                | Op::TransposeConv(_)
                | Op::TransposeConvBias(_) => true,
                Op::FullyConnected(_) => has_int8_weights(node, sg),
                _ => false,
            };
            ours && !is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &CONV2D,
            &CONV2D_W8,
            &CONV2D_X4,
            &CONV2D_W8_X4,
            &CONV2D_DIRECT,
            &CONV2D_W8_DIRECT,
            &CONV2D_DIRECT_X4,
            &CONV2D_W8_DIRECT_X4,
            &DEPTHWISE_CONV2D,
            &DEPTHWISE_CONV2D_W8,
            &DEPTHWISE_CONV2D_X4,
            &DEPTHWISE_CONV2D_W8_X4,
            &TRANSPOSE_CONV,
            &DW_POINTWISE,
            &DW_POINTWISE_X4,
        ],
    }
}
