//! Integer CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: the float kernels'
//! bodies (shaders/conv2d.wgsl, shaders/depthwise_conv2d.wgsl) behind the
//! integer hooks of shaders/qconv2d.wgsl and shaders/qdepthwise_conv2d.wgsl:
//! int8 activations or uint8 activations with symmetric int8 weights, per-tensor
//! or per-channel, i32 accumulation and LiteRT's per-channel fixed-point
//! requantization.
//!
//! FULLY_CONNECTED runs as a 1x1 convolution: its [units, inner] weights are an
//! OHWI filter and each input row a pixel. CONV_2D weights are re-laid out like
//! the float kernel's, four output channels to one packed u32 word; depthwise
//! weights keep their order, packed four to a word.

use super::conv::{geom, ConvGeom, Geom, Kind, CONV_GEOM_WGSL};
use super::conv_shaders::{CONV2D_DIRECT_WGSL, CONV2D_WGSL, DEPTHWISE_WGSL};
use super::quant::is_quantized;
use super::quant::{activation, input, int8_weights, int_bias, multiplier, out_range, output};
use super::quant::{mult_words, weight_scales};
use super::tiling::{depthwise_invocations, in_bounds, Adapter, ConvTiles};
use super::{LowerCtx, Shader, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::pipeline::WORKGROUP_SIZE;
use crate::graph::op::Activation;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qconv2d.wgsl.
    struct QConv2dParams {
        g: ConvGeom,
        ocg: u32,
        ocq: u32,
        groups: u32,
        in_zp: i32,
        out_zp: i32,
        lo: i32,
        hi: i32,
    }
}

uniforms! {
    /// `Params` of shaders/qdepthwise_conv2d.wgsl.
    struct QDepthwiseParams {
        g: ConvGeom,
        in_zp: i32,
        out_zp: i32,
        lo: i32,
        hi: i32,
    }
}

static QCONV2D: Shader = Shader {
    name: "qconv2d",
    parts: &[
        QMATH_WGSL,
        CONV_GEOM_WGSL,
        include_str!("../../../shaders/qconv2d.wgsl"),
        CONV2D_WGSL,
    ],
    selectors: &[],
    params: QConv2dParams::LAYOUT,
};

static QCONV2D_DIRECT: Shader = Shader {
    name: "qconv2d_direct",
    parts: &[
        QMATH_WGSL,
        CONV_GEOM_WGSL,
        include_str!("../../../shaders/qconv2d.wgsl"),
        CONV2D_DIRECT_WGSL,
    ],
    selectors: &[],
    params: QConv2dParams::LAYOUT,
};

static QDEPTHWISE_CONV2D: Shader = Shader {
    name: "qdepthwise_conv2d",
    parts: &[
        QMATH_WGSL,
        CONV_GEOM_WGSL,
        include_str!("../../../shaders/qdepthwise_conv2d.wgsl"),
        DEPTHWISE_WGSL,
    ],
    selectors: &[],
    params: QDepthwiseParams::LAYOUT,
};

/// A checked integer convolution: geometry, weight bytes and per-channel
/// (bias, mantissa, shift, 0) words, zero points and clamp range.
struct Plan {
    g: Geom,
    weights: Vec<u8>,
    channel: Vec<u32>,
    in_zp: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
}

/// The geometry of FULLY_CONNECTED as a 1x1 convolution.
pub(super) fn fc_geom(node: &Node, sg: &Subgraph, act: Activation) -> Result<Geom, String> {
    let x = input(node, sg, 0)?;
    let w = input(node, sg, 1)?;
    let y = output(node, sg, 0)?;
    let [units, inner] = match w.shape[..] {
        [a, b] => [a, b],
        _ => return Err(format!("weights must be 2-D, got {:?}", w.shape)),
    };
    let len = x.num_elements();
    if inner == 0 || len % inner != 0 {
        return Err(format!(
            "input of {len} elements does not divide into rows of {inner}"
        ));
    }
    let rows = len / inner;
    if let Some(b) = node.input(2).map(|t| &sg.tensors[t]) {
        if !b.is_constant() || b.num_elements() != units {
            return Err(format!(
                "bias {} must be a constant of {units} elements",
                b.name
            ));
        }
    }
    if y.num_elements() != rows * units || y.shape.last() != Some(&units) {
        return Err(format!(
            "output shape {:?} does not hold {rows} rows of {units}",
            y.shape
        ));
    }
    Ok(Geom {
        kind: Kind::Conv,
        n: rows,
        ih: 1,
        iw: 1,
        ic: inner,
        oh: 1,
        ow: 1,
        oc: units,
        kh: 1,
        kw: 1,
        fic: inner,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        pt: 0,
        pl: 0,
        act,
        x_idx: 0,
        bias_idx: 2,
    })
}

fn plan(node: &Node, sg: &Subgraph) -> Result<Plan, String> {
    let g = match &node.op {
        Op::FullyConnected(p) => fc_geom(node, sg, p.activation)?,
        _ => geom(node, sg)?,
    };
    let x = input(node, sg, g.x_idx)?;
    let y = output(node, sg, 0)?;
    let (is, izp) = activation(x)?;
    let (os, ozp) = activation(y)?;
    if x.dtype != y.dtype || !matches!(x.dtype, crate::graph::DType::I8 | crate::graph::DType::U8) {
        return Err(format!(
            "{} to {} convolutions run on the CPU",
            x.dtype, y.dtype
        ));
    }
    let (lo, hi) = out_range(y, g.act)?;
    let w = input(node, sg, 1)?;
    let bytes = int8_weights(w)?;
    let axis = if g.kind == Kind::Depthwise { 3 } else { 0 };
    let scales = weight_scales(w, g.oc, axis)?;
    let bias = int_bias(node, sg, g.bias_idx, g.oc)?;
    let mut channel = Vec::with_capacity(g.oc * 4);
    for c in 0..g.oc {
        let m = multiplier(is as f64 * scales[c] as f64 / os as f64);
        let [mant, shift] = mult_words(m);
        channel.extend([bias[c] as u32, mant, shift, 0]);
    }
    let weights = match g.kind {
        Kind::Conv => pack_conv(bytes, &g),
        Kind::Depthwise => bytes.to_vec(),
        Kind::Transpose => return Err("integer TRANSPOSE_CONV runs on the CPU".into()),
    };
    Ok(Plan {
        g,
        weights,
        channel,
        in_zp: izp,
        out_zp: ozp,
        lo,
        hi,
    })
}

/// OHWI int8 conv weights re-laid out as [group][k][ocq * 4] bytes (zero-padded),
/// so that each u32 word holds 4 consecutive output channels of one tap.
pub(super) fn pack_conv(bytes: &[u8], g: &Geom) -> Vec<u8> {
    let groups = g.ic / g.fic;
    let ocg = g.oc / groups;
    let ocq = ocg.div_ceil(4);
    let k = g.kh * g.kw * g.fic;
    let mut packed = vec![0u8; groups * k * ocq * 4];
    for grp in 0..groups {
        for o in 0..ocg {
            let src = &bytes[(grp * ocg + o) * k..(grp * ocg + o + 1) * k];
            for (kk, &v) in src.iter().enumerate() {
                packed[(grp * k + kk) * ocq * 4 + o] = v;
            }
        }
    }
    packed
}

/// Why a quantized convolution stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Result<(), String> {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized convolution.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let pl = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let g = pl.g;
    let u = |v: usize| v as u32;
    let x = ctx.input(g.x_idx)?;
    let w = ctx.b.constant_packed(&pl.weights);
    let q = ctx
        .b
        .constant_words(&pl.channel, crate::gpu::program::Elem::I32);
    let out = ctx.output(0)?;
    let x_len = ctx.in_info(g.x_idx)?.num_elements();
    let out_len = ctx.out_info(0)?.num_elements();
    match g.kind {
        Kind::Conv => {
            let tiles = ConvTiles::choose(&g, &Adapter::of(ctx.b));
            let params = QConv2dParams {
                g: g.uniforms(tiles.total()),
                ocg: u(tiles.ocg),
                ocq: u(tiles.ocq),
                groups: u(tiles.groups),
                in_zp: pl.in_zp,
                out_zp: pl.out_zp,
                lo: pl.lo,
                hi: pl.hi,
            };
            let k = g.kh * g.kw * g.fic;
            let trusted = in_bounds(&[
                (x_len, g.n * g.ih * g.iw * g.ic),
                (pl.weights.len() / 4, tiles.groups * k * tiles.ocq),
                (pl.channel.len() / 4, g.oc),
                (out_len, tiles.pixels * g.oc),
            ]);
            let buffers = vec![x, w, q, out];
            ctx.dispatch_groups_trusted(
                if tiles.direct {
                    &QCONV2D_DIRECT
                } else {
                    &QCONV2D
                },
                tiles.constants(),
                params,
                buffers,
                tiles.workgroups,
                trusted,
            )
        }
        _ => {
            let total = depthwise_invocations(&g);
            let params = QDepthwiseParams {
                g: g.uniforms(total),
                in_zp: pl.in_zp,
                out_zp: pl.out_zp,
                lo: pl.lo,
                hi: pl.hi,
            };
            let trusted = in_bounds(&[
                (x_len, g.n * g.ih * g.iw * g.ic),
                (pl.weights.len(), g.kh * g.kw * g.oc),
                (pl.channel.len() / 4, g.oc),
                (out_len, g.n * g.oh * g.ow * g.oc),
            ]);
            let buffers = vec![x, w, q, out];
            ctx.dispatch_groups_trusted(
                &QDEPTHWISE_CONV2D,
                vec![],
                params,
                buffers,
                total.div_ceil(WORKGROUP_SIZE as usize) as u64,
                trusted,
            )
        }
    }
}

gpu_op! {
    /// Quantized CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED.
    QConv "qconv" {
        claims: |node, sg| {
            matches!(
                node.op,
                Op::Conv2D(_) | Op::DepthwiseConv2D(_) | Op::FullyConnected(_)
            ) && is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &QCONV2D,
            &QCONV2D_DIRECT,
            &QDEPTHWISE_CONV2D,
        ],
    }
}
