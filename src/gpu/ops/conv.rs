//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and MediaPipe's
//! Convolution2DTransposeBias (shaders/conv2d.wgsl, shaders/depthwise_conv2d.wgsl,
//! shaders/transpose_conv.wgsl).
//!
//! The CONV_2D and DEPTHWISE_CONV_2D bodies are shared with the integer kernels
//! (qconv.rs): each kernel is its variant's hooks (input load, weight load,
//! accumulator type, epilogue) in front of the one body. The float hooks are
//! shaders/conv2d_float.wgsl and shaders/depthwise_conv2d_float.wgsl, with the
//! input and weight loads from defines; the variants are put together in
//! conv_shaders.rs. Where the channel layout aligns them ([`quad_input`],
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

use super::conv_shaders::{
    conv2d_shader, CONV2D, CONV2D_DIRECT, CONV2D_DIRECT_X4, CONV2D_W8, CONV2D_W8_DIRECT,
    CONV2D_W8_DIRECT_X4, CONV2D_W8_X4, CONV2D_X4, DEPTHWISE_CONV2D, DEPTHWISE_CONV2D_W8,
    DEPTHWISE_CONV2D_W8_X4, DEPTHWISE_CONV2D_X4, TRANSPOSE_CONV,
};
use super::epilogue::{self, EpilogueParams};
use super::qconv::pack_conv;
use super::quant::is_quantized;
use super::quant::{int8_weights, weight_scales};
use super::tiling::{depthwise_invocations, in_bounds, Adapter, ConvTiles};
use super::{float_io, LowerCtx};
use crate::error::Result;
use crate::gpu::pipeline::WORKGROUP_SIZE;
use crate::graph::op::Activation;
use crate::graph::shape;
use crate::graph::{DType, Node, Op, Subgraph, TensorInfo};

/// shaders/conv_geom.wgsl: the WGSL of [`ConvGeom`], put in front of every
/// convolution kernel (float and integer).
pub(super) const CONV_GEOM_WGSL: &str = include_str!("../../../shaders/conv_geom.wgsl");

uniforms! {
    /// The geometry every convolution kernel's `Params` begins with (`ConvGeom` in shaders/conv_geom.wgsl): invocations, input, output and filter sizes, strides, dilations and the top/left padding; `fic` is the depth multiplier of a depthwise kernel.
    struct ConvGeom {
        total: u32,
        ih: u32,
        iw: u32,
        ic: u32,
        oh: u32,
        ow: u32,
        oc: u32,
        kh: u32,
        kw: u32,
        fic: u32,
        sh: u32,
        sw: u32,
        dh: u32,
        dw: u32,
        pt: u32,
        pl: u32,
    }
}

uniforms! {
    /// `Params` of shaders/conv2d_float.wgsl: output channels per group and vec4 quads per group after the geometry, the clamp, then (16-byte aligned) the fused epilogue.
    struct Conv2dParams {
        g: ConvGeom,
        ocg: u32,
        ocq: u32,
        groups: u32,
        act_min: f32,
        act_max: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
        e: EpilogueParams,
    }
}

uniforms! {
    /// `Params` of shaders/depthwise_conv2d_float.wgsl.
    struct DepthwiseParams {
        g: ConvGeom,
        act_min: f32,
        act_max: f32,
    }
}

uniforms! {
    /// `Params` of shaders/transpose_conv.wgsl.
    struct TransposeConvParams {
        total: u32,
        ih: u32,
        iw: u32,
        ic: u32,
        oh: u32,
        ow: u32,
        oc: u32,
        kh: u32,
        kw: u32,
        ocq: u32,
        sh: u32,
        sw: u32,
        pt: u32,
        pl: u32,
        act_min: f32,
        act_max: f32,
    }
}

/// Which kernel a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Conv,
    Depthwise,
    Transpose,
}

/// Geometry of one convolution node, checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geom {
    pub(super) kind: Kind,
    pub(super) n: usize,
    pub(super) ih: usize,
    pub(super) iw: usize,
    pub(super) ic: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) oc: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    /// Filter input channels (conv), depth multiplier (depthwise), ic (transpose).
    pub(super) fic: usize,
    pub(super) sh: usize,
    pub(super) sw: usize,
    pub(super) dh: usize,
    pub(super) dw: usize,
    pub(super) pt: usize,
    pub(super) pl: usize,
    pub(super) act: Activation,
    /// Index of the data input.
    pub(super) x_idx: usize,
    /// Index of the (optional) bias input.
    pub(super) bias_idx: usize,
}

impl Geom {
    /// The uniforms the convolution and depthwise kernels (float and integer)
    /// begin with, for `total` invocations.
    pub(super) fn uniforms(&self, total: usize) -> ConvGeom {
        let u = |v: usize| v as u32;
        ConvGeom {
            total: u(total),
            ih: u(self.ih),
            iw: u(self.iw),
            ic: u(self.ic),
            oh: u(self.oh),
            ow: u(self.ow),
            oc: u(self.oc),
            kh: u(self.kh),
            kw: u(self.kw),
            fic: u(self.fic),
            sh: u(self.sh),
            sw: u(self.sw),
            dh: u(self.dh),
            dw: u(self.dw),
            pt: u(self.pt),
            pl: u(self.pl),
        }
    }
}

fn dims4(t: &TensorInfo, what: &str) -> Result<[usize; 4], String> {
    match t.shape[..] {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(format!("{what} {} must be 4-D, got {:?}", t.name, t.shape)),
    }
}

fn tensor<'a>(node: &Node, sg: &'a Subgraph, i: usize) -> Result<&'a TensorInfo, String> {
    node.input(i)
        .map(|t| &sg.tensors[t])
        .ok_or_else(|| format!("missing input {i}"))
}

/// Check the node and compute its geometry (the reason on failure).
pub(super) fn geom(node: &Node, sg: &Subgraph) -> Result<Geom, String> {
    let (kind, padding, sh, sw, dh, dw, act, mult) = match &node.op {
        Op::Conv2D(p) => (
            Kind::Conv,
            p.padding,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
            p.activation,
            0,
        ),
        Op::DepthwiseConv2D(p) => (
            Kind::Depthwise,
            p.padding,
            p.stride_h,
            p.stride_w,
            p.dilation_h,
            p.dilation_w,
            p.activation,
            p.depth_multiplier,
        ),
        Op::TransposeConv(p) | Op::TransposeConvBias(p) => (
            Kind::Transpose,
            p.padding,
            p.stride_h,
            p.stride_w,
            1,
            1,
            p.activation,
            0,
        ),
        op => return Err(format!("{} is not a convolution", op.name())),
    };
    if act.range().is_none() {
        return Err(format!("fused {act:?} runs on the CPU"));
    }
    if sh == 0 || sw == 0 || dh == 0 || dw == 0 {
        return Err("invalid stride or dilation".into());
    }
    let (x_idx, bias_idx) = match &node.op {
        Op::TransposeConv(_) => (2, 3),
        _ => (0, 2),
    };
    let x = tensor(node, sg, x_idx)?;
    let f = tensor(node, sg, 1)?;
    if !f.is_constant() {
        return Err(format!(
            "filter {} is computed at run time; the GPU kernels take constant weights",
            f.name
        ));
    }
    let out = sg
        .tensors
        .get(*node.outputs.first().ok_or("missing output")?)
        .ok_or("missing output")?;
    let [n, ih, iw, ic] = dims4(x, "input")?;
    let [f0, kh, kw, f3] = dims4(f, "filter")?;
    let [on, oh, ow, oc] = dims4(out, "output")?;
    if kh == 0 || kw == 0 {
        return Err("empty filter".into());
    }
    let mut g = Geom {
        kind,
        n,
        ih,
        iw,
        ic,
        oh,
        ow,
        oc,
        kh,
        kw,
        fic: f3,
        sh,
        sw,
        dh,
        dw,
        pt: 0,
        pl: 0,
        act,
        x_idx,
        bias_idx,
    };
    match kind {
        Kind::Conv => {
            if f3 == 0 || ic % f3 != 0 || f0 % (ic / f3) != 0 {
                return Err(format!(
                    "filter {:?} does not fit input channels {ic}",
                    f.shape
                ));
            }
            let (eh, pt) = shape::padding(padding, ih, kh, sh, dh)
                .ok_or_else(|| "a zero stride, dilation or kernel size".to_string())?;
            let (ew, pl) = shape::padding(padding, iw, kw, sw, dw)
                .ok_or_else(|| "a zero stride, dilation or kernel size".to_string())?;
            if [on, oh, ow, oc] != [n, eh, ew, f0] {
                return Err(format!(
                    "output shape {:?} differs from the computed {:?}",
                    out.shape,
                    [n, eh, ew, f0]
                ));
            }
            g.pt = pt;
            g.pl = pl;
        }
        Kind::Depthwise => {
            if f0 != 1 || ic == 0 || f3 % ic != 0 {
                return Err(format!(
                    "filter {:?} does not fit input channels {ic}",
                    f.shape
                ));
            }
            let m = f3 / ic;
            if mult != 0 && mult != m {
                return Err(format!(
                    "depth multiplier {mult} disagrees with filter channels {f3} / {ic}"
                ));
            }
            let (eh, pt) = shape::padding(padding, ih, kh, sh, dh)
                .ok_or_else(|| "a zero stride, dilation or kernel size".to_string())?;
            let (ew, pl) = shape::padding(padding, iw, kw, sw, dw)
                .ok_or_else(|| "a zero stride, dilation or kernel size".to_string())?;
            if [on, oh, ow, oc] != [n, eh, ew, f3] {
                return Err(format!(
                    "output shape {:?} differs from the computed {:?}",
                    out.shape,
                    [n, eh, ew, f3]
                ));
            }
            g.fic = m;
            g.pt = pt;
            g.pl = pl;
        }
        Kind::Transpose => {
            if f3 != ic {
                return Err(format!(
                    "filter input channels {f3} differ from input channels {ic}"
                ));
            }
            if on != n || oc != f0 {
                return Err(format!(
                    "output shape {:?} disagrees with input batch {n} / filter channels {f0}",
                    out.shape
                ));
            }
            // Padding as LiteRT computes it: a forward conv from the output size.
            let pad = |o: usize, k: usize, s: usize| -> Result<usize, String> {
                let (wo, _) = shape::padding(padding, o, k, s, 1)
                    .ok_or_else(|| "a zero stride or kernel size".to_string())?;
                Ok((wo.saturating_sub(1) * s + k).saturating_sub(o) / 2)
            };
            g.pt = pad(oh, kh, sh)?;
            g.pl = pad(ow, kw, sw)?;
        }
    }
    if let Some(b) = node.input(bias_idx).map(|t| &sg.tensors[t]) {
        if !b.is_constant() {
            return Err(format!(
                "bias {} is computed at run time; the GPU kernels take constant biases",
                b.name
            ));
        }
        if b.num_elements() != oc {
            return Err(format!(
                "bias {} has {} elements, expected {oc}",
                b.name,
                b.num_elements()
            ));
        }
    }
    Ok(g)
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Result<(), String> {
    if let Op::TransposeConv(_) = node.op {
        // The output-shape operand is an int32 constant; check the float tensors only.
        for (k, t) in node.inputs.iter().enumerate() {
            if let Some(t) = t {
                let info = &sg.tensors[*t];
                if k != 0 && info.dtype != DType::F32 {
                    return Err(format!(
                        "tensor {} is {}, the GPU path runs float32 tensors",
                        info.name, info.dtype
                    ));
                }
            }
        }
        for &t in &node.outputs {
            let info = &sg.tensors[t];
            if info.dtype != DType::F32 {
                return Err(format!(
                    "tensor {} is {}, the GPU path runs float32 tensors",
                    info.name, info.dtype
                ));
            }
        }
    } else {
        float_io(node, sg)?;
    }
    let g = node_geom(node, sg)?;
    let f = tensor(node, sg, 1)?;
    match (f.dtype, g.kind) {
        (DType::F32, _) => {}
        (DType::I8, Kind::Conv | Kind::Depthwise) => {
            hybrid_scales(node, sg, &g)?;
        }
        (d, _) => {
            return Err(format!(
                "filter {} is {d}; the GPU kernels take float32 or int8 weights",
                f.name
            ))
        }
    }
    Ok(())
}

/// The geometry of a convolution, or of FULLY_CONNECTED as a 1x1 convolution
/// (hybrid FULLY_CONNECTED runs on the convolution kernel).
fn node_geom(node: &Node, sg: &Subgraph) -> Result<Geom, String> {
    match &node.op {
        Op::FullyConnected(p) => {
            if p.activation.range().is_none() {
                return Err(format!("fused {:?} runs on the CPU", p.activation));
            }
            super::qconv::fc_geom(node, sg, p.activation)
        }
        _ => geom(node, sg),
    }
}

/// Whether node's weights (input 1) are an int8 constant (a hybrid node).
pub(super) fn has_int8_weights(node: &Node, sg: &Subgraph) -> bool {
    node.input(1)
        .map(|t| sg.tensors[t].dtype == DType::I8 && sg.tensors[t].is_constant())
        .unwrap_or(false)
}

/// The per-channel scales of hybrid (int8) weights, checked with the weights.
fn hybrid_scales(node: &Node, sg: &Subgraph, g: &Geom) -> Result<Vec<f32>, String> {
    let f = tensor(node, sg, 1)?;
    int8_weights(f)?;
    let axis = if g.kind == Kind::Depthwise { 3 } else { 0 };
    weight_scales(f, g.oc, axis)
}

/// Bias values (zeros when absent) as an f32 constant buffer, followed by the
/// per-channel weight scales of hybrid weights.
fn bias_buf(ctx: &mut LowerCtx, g: &Geom, scales: &[f32]) -> Result<super::BufId> {
    let mut bias = if ctx.has_input(g.bias_idx) {
        ctx.const_f32(g.bias_idx)?
    } else {
        vec![0.0; g.oc]
    };
    bias.extend_from_slice(scales);
    Ok(ctx.b.constant_f32(&bias))
}

/// The int8 weights and their scales when the filter is int8 (hybrid), else None.
fn hybrid(ctx: &LowerCtx, g: &Geom) -> Result<Option<(Vec<u8>, Vec<f32>)>> {
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

/// Whether a CONV_2D (or hybrid FULLY_CONNECTED) reads its input as vec4
/// quads: the input's channel count and each group's first channel are
/// multiples of 4, so every quad a tap reads starts 4-aligned. A buffer's start
/// stays aligned too: a slice of a concatenation starts a whole number of
/// pixels in, a multiple of the channel count.
pub(super) fn quad_input(g: &Geom) -> bool {
    g.ic % 4 == 0 && g.fic % 4 == 0
}

/// Whether a DEPTHWISE_CONV_2D runs on channel quads: depth multiplier 1 (input
/// quad c feeds output quad c) and a channel count that is a multiple of 4.
pub(super) fn quad_depthwise(g: &Geom) -> bool {
    g.fic == 1 && g.oc % 4 == 0 && g.ic == g.oc
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
            g.ih = ih;
            g.iw = iw;
            g.pt += pad.top;
            g.pl += pad.left;
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
            let k = g.kh * g.kw * g.fic;
            let x = data_input(ctx)?;
            let ep = epilogue::prepare(ctx, [g.oh, g.ow, g.oc], x)?;
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
                    (x_len, g.n * g.ih * g.iw * g.ic),
                    (w_quads, groups * k * ocq),
                    (
                        g.oc + scales.len(),
                        g.oc * if hybrid.is_some() { 2 } else { 1 },
                    ),
                    (out_len, needed_out),
                ]);
            let mut constants = tiles.constants();
            constants.extend(ep.constants);
            ctx.dispatch_groups_trusted(
                shader,
                constants,
                params,
                vec![x, w, bias, e0, e1, out],
                tiles.workgroups,
                trusted,
            )
        }
        Kind::Depthwise => {
            if let Some(pw) = fused.pointwise {
                let x = data_input(ctx)?;
                return super::dw_pointwise::lower(ctx, &g, x, pw);
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
                (x_len, g.n * g.ih * g.iw * g.ic),
                (w_len, g.kh * g.kw * g.oc),
                (
                    g.oc + scales.len(),
                    g.oc * if hybrid.is_some() { 2 } else { 1 },
                ),
                (ctx.out_info(0)?.num_elements(), g.n * g.oh * g.ow * g.oc),
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
            let mut packed = vec![0.0f32; g.kh * g.kw * g.ic * ocq * 4];
            for o in 0..g.oc {
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        for c in 0..g.ic {
                            packed[((ky * g.kw + kx) * g.ic + c) * ocq * 4 + o] =
                                filter[((o * g.kh + ky) * g.kw + kx) * g.ic + c];
                        }
                    }
                }
            }
            let total = g.n * g.oh * g.ow * ocq;
            let params = TransposeConvParams {
                total: u(total),
                ih: u(g.ih),
                iw: u(g.iw),
                ic: u(g.ic),
                oh: u(g.oh),
                ow: u(g.ow),
                oc: u(g.oc),
                kh: u(g.kh),
                kw: u(g.kw),
                ocq: u(ocq),
                sh: u(g.sh),
                sw: u(g.sw),
                pt: u(g.pt),
                pl: u(g.pl),
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
            &super::dw_pointwise::DW_POINTWISE,
            &super::dw_pointwise::DW_POINTWISE_X4,
        ],
    }
}
