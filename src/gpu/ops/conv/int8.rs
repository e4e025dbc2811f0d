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

use super::geometry::{fc_geom, geom, pack_conv, ConvNode, Kind};
use super::shaders::{QConv2dParams, QDepthwiseParams, QCONV2D, QCONV2D_DIRECT, QDEPTHWISE_CONV2D};
use super::tiling::{depthwise_invocations, ConvTiles};
use crate::error::Result;
use crate::gpu::ops::quant::is_quantized;
use crate::gpu::ops::quant::{
    activation, input, int8_weights, int_bias, multiplier, out_range, output,
};
use crate::gpu::ops::quant::{mult_words, weight_scales};
use crate::gpu::ops::tiling::{in_bounds, Adapter};
use crate::gpu::ops::LowerCtx;
use crate::gpu::pipeline::WORKGROUP_SIZE;
use crate::gpu::verdict::Support;
use crate::graph::{Node, Op, Subgraph};

/// A checked integer convolution: geometry, weight bytes and per-channel
/// (bias, mantissa, shift, 0) words, zero points and clamp range.
struct Plan {
    g: ConvNode,
    weights: Vec<u8>,
    channel: Vec<u32>,
    in_zp: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
}

fn plan(node: &Node, sg: &Subgraph) -> Support<Plan> {
    let g = match &node.op {
        Op::FullyConnected(p) => fc_geom(node, sg, p.activation)?,
        _ => geom(node, sg)?,
    };
    let x = input(node, sg, g.x_idx)?;
    let y = output(node, sg, 0)?;
    let (is, izp) = activation(x)?;
    let (os, ozp) = activation(y)?;
    if x.dtype != y.dtype || !matches!(x.dtype, crate::graph::DType::I8 | crate::graph::DType::U8) {
        return Err(format!("{} to {} convolutions run on the CPU", x.dtype, y.dtype).into());
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

/// Why a quantized convolution stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
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
            let k = g.geo.kh * g.geo.kw * g.fic;
            let trusted = in_bounds(&[
                (x_len, g.geo.n * g.geo.ih * g.geo.iw * g.geo.ic),
                (pl.weights.len() / 4, tiles.groups * k * tiles.ocq),
                (pl.channel.len() / 4, g.oc),
                (out_len, tiles.pixels * g.oc),
            ]);
            let buffers = vec![x, w, q, out];
            ctx.dispatch_sized(
                if tiles.direct {
                    &QCONV2D_DIRECT
                } else {
                    &QCONV2D
                },
                tiles.constants(),
                params,
                buffers,
                (tiles.workgroups, tiles.workgroup_size()),
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
                (x_len, g.geo.n * g.geo.ih * g.geo.iw * g.geo.ic),
                (pl.weights.len(), g.geo.kh * g.geo.kw * g.oc),
                (pl.channel.len() / 4, g.oc),
                (out_len, g.geo.n * g.geo.oh * g.geo.ow * g.oc),
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
