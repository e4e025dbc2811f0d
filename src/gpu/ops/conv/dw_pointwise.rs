//! DEPTHWISE_CONV_2D followed by a 1x1 CONV_2D in one dispatch
//! (shaders/dw_pointwise.wgsl), as TFLite's DepthwiseConvPlus1x1Conv: the
//! depthwise outputs of a few pixels live in workgroup memory, rounded to storage
//! precision as the depthwise op would store them, and never reach a buffer. The
//! delegate's fusion pass picks the pairs ([`fits`]); the convolution family
//! lowers the depthwise node of a pair here, on a GPU only when the pair is
//! thin (occupancy.rs: a wide one runs as two dispatches there).

use super::geometry::{geom, ConvGeom, ConvNode, Kind, CONV_GEOM_WGSL};
use super::occupancy::{fused_pixels, Gpu};
use crate::error::Result;
use crate::gpu::ops::epilogue::{self, EpilogueParams, EPILOGUE_WGSL};
use crate::gpu::ops::tiling::Adapter;
use crate::gpu::ops::{BufId, Elem, LowerCtx};
use crate::gpu::shader::Shader;
use crate::graph::{DType, Subgraph, TensorInfo};

/// Floats of the workgroup tile (`TILE` in the shader): 16 KiB, the smallest
/// workgroup storage WebGPU guarantees.
const TILE: usize = 4096;

/// Most output pixels one workgroup computes.
const MAX_PIXELS: usize = 64;

/// Pixels of one invocation's block in the 1x1 half (`PB` in the shader).
const PB: usize = 4;

uniforms! {
    /// `Params` of shaders/dw_pointwise.wgsl: the depthwise geometry (`total` counts output pixels), the 1x1 output channels and quads, pixels per workgroup, both clamps, then (16-byte aligned) the 1x1 convolution's fused epilogue.
    struct DwPointwiseParams {
        g: ConvGeom,
        oc: u32,
        ocq: u32,
        tp: u32,
        dw_min: f32,
        dw_max: f32,
        act_min: f32,
        act_max: f32,
        _pad0: u32,
        e: EpilogueParams,
    }
}

/// shaders/dw_pointwise.wgsl: the fused body behind its depthwise stage.
const DW_POINTWISE_WGSL: &str = include_str!("../../../../shaders/dw_pointwise.wgsl");

/// The fused kernel, its depthwise half one channel per step.
pub(super) static DW_POINTWISE: Shader = Shader {
    name: "dw_pointwise",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        include_str!("../../../../shaders/dw_pointwise_stage.wgsl"),
        DW_POINTWISE_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    defines: &[],
    params: DwPointwiseParams::LAYOUT,
};

/// The fused kernel, its depthwise half on channel quads (vec4 loads of the
/// input and the filter) when the channel count is a multiple of 4.
pub(super) static DW_POINTWISE_X4: Shader = Shader {
    name: "dw_pointwise_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        include_str!("../../../../shaders/dw_pointwise_stage_vec4.wgsl"),
        DW_POINTWISE_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    defines: &[],
    params: DwPointwiseParams::LAYOUT,
};

fn float_const(info: &TensorInfo) -> Option<Vec<f32>> {
    if info.dtype != DType::F32 {
        return None;
    }
    let d = info.data.as_ref()?;
    Some(
        d.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Whether DEPTHWISE_CONV_2D node `dw` and the 1x1 CONV_2D node `pw` reading its
/// output run as one kernel: float weights, depth multiplier 1, a 1x1 stride-1
/// ungrouped convolution, and the depthwise channels of one pixel fit the tile.
pub fn fits(sg: &Subgraph, dw: usize, pw: usize) -> bool {
    let (Ok(d), Ok(c)) = (geom(&sg.nodes[dw], sg), geom(&sg.nodes[pw], sg)) else {
        return false;
    };
    let float_weights = |n: usize| {
        sg.nodes[n]
            .input(1)
            .is_some_and(|t| float_const(&sg.tensors[t]).is_some())
    };
    d.kind == Kind::Depthwise
        && c.kind == Kind::Conv
        && d.fic == 1
        && d.geo.n == c.geo.n
        && [c.geo.kh, c.geo.kw, c.geo.sh, c.geo.sw, c.geo.pt, c.geo.pl] == [1, 1, 1, 1, 0, 0]
        && c.fic == c.geo.ic
        && c.geo.ic == d.oc
        && [c.geo.ih, c.geo.iw] == [d.geo.oh, d.geo.ow]
        && d.oc <= TILE
        && float_weights(dw)
        && float_weights(pw)
        && sg.nodes[pw].input(0) == sg.nodes[dw].outputs.first().copied()
}

/// Output pixels per workgroup for `ic` depthwise channels and `ocq` output
/// quads: enough blocks of [`PB`] pixels that the 1x1 half gives every
/// invocation a (block, quad) pair, as far as the tile holds their depthwise
/// outputs; a whole number of blocks when at least one fits.
fn pixels_per_workgroup(ic: usize, ocq: usize) -> usize {
    let invocations = crate::gpu::pipeline::WORKGROUP_SIZE as usize;
    let fill = PB * invocations.div_ceil(ocq.max(1));
    let tp = fill.min(MAX_PIXELS).min(TILE / ic.max(1)).max(1);
    if tp >= PB {
        tp - tp % PB
    } else {
        tp
    }
}

/// Record the fused dispatch of depthwise node `ctx.node` (geometry `g`, data
/// input buffer `x`) and 1x1 node `pw`.
pub(super) fn lower(ctx: &mut LowerCtx, g: &ConvNode, x: BufId, pw: usize) -> Result<()> {
    let sg = ctx.sg;
    if !fits(sg, ctx.index, pw) {
        return Err(ctx.err(format!(
            "node {pw} cannot fuse into this depthwise convolution"
        )));
    }
    let pw_node = &sg.nodes[pw];
    let c = geom(pw_node, sg).map_err(|e| ctx.err(e))?;
    let (ic, oc) = (g.oc, c.oc);
    let ocq = oc.div_ceil(4);
    let pixels = g.geo.n * g.geo.oh * g.geo.ow;
    // On a GPU, fewer pixels per workgroup where that spreads the pixels over
    // every compute unit.
    let adapter = Adapter::of(ctx.b);
    let gpu = (!adapter.cpu).then_some(Gpu {
        compute_units: adapter.compute_units as usize,
        invocations: adapter.invocations as usize,
    });
    let tp = fused_pixels(pixels_per_workgroup(ic, ocq), pixels, PB, gpu);
    let constant = |i: usize| -> Result<Vec<f32>> {
        pw_node
            .input(i)
            .and_then(|t| float_const(&sg.tensors[t]))
            .ok_or_else(|| ctx.err(format!("input {i} of node {pw} is not a float32 constant")))
    };
    // OHWI [oc][1][1][ic] -> [ic][ocq * 4], zero-padded.
    let filter = constant(1)?;
    let mut packed = vec![0.0f32; ic * ocq * 4];
    for o in 0..oc {
        for ci in 0..ic {
            packed[ci * ocq * 4 + o] = filter[o * ic + ci];
        }
    }
    let mut bias = if ctx.has_input(g.bias_idx) {
        ctx.const_f32(g.bias_idx)?
    } else {
        vec![0.0; ic]
    };
    if pw_node.input(2).is_some() {
        bias.extend(constant(2)?);
    } else {
        bias.extend(std::iter::repeat_n(0.0, oc));
    }
    let range =
        |a: crate::graph::op::Activation| a.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let (dw_min, dw_max) = range(g.act);
    let (act_min, act_max) = range(c.act);
    let ep = epilogue::prepare(ctx, [g.geo.oh, g.geo.ow, oc], x)?;
    let [e0, e1] = ep.buffers;
    let u = |v: usize| v as u32;
    let params = DwPointwiseParams {
        g: g.uniforms(pixels),
        oc: u(oc),
        ocq: u(ocq),
        tp: u(tp),
        dw_min,
        dw_max,
        act_min,
        act_max,
        e: ep.params,
        ..Default::default()
    };
    let dww = ctx.input(1)?;
    let bias = ctx.b.constant_f32(&bias);
    let w = ctx.b.constant(&packed);
    let pw_out = *pw_node
        .outputs
        .first()
        .ok_or_else(|| ctx.err(format!("node {pw} has no output")))?;
    let out = ctx.b.intermediate_of(pixels * oc, Elem::Scalar);
    ctx.bufs.insert(pw_out, out);
    epilogue::bind_output(ctx, out);
    // Channel quads when every quad of the input and the filter is aligned.
    let shader = if ic % 4 == 0 {
        &DW_POINTWISE_X4
    } else {
        &DW_POINTWISE
    };
    ctx.dispatch_groups(
        shader,
        ep.constants,
        params,
        vec![x, dww, bias, w, e0, e1, out],
        pixels.div_ceil(tp) as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workgroups_fill_their_invocations_within_the_tile() {
        // 24 output channels (6 quads): 11 blocks fill 64 invocations, but the
        // tile holds 42 pixels of 96 channels; whole blocks of 4 are kept.
        assert_eq!(pixels_per_workgroup(96, 6), 40);
        // Narrow depthwise, many quads: two blocks already fill the workgroup.
        assert_eq!(pixels_per_workgroup(16, 40), 8);
        // 960 channels: the tile holds 4 pixels, one block.
        assert_eq!(pixels_per_workgroup(960, 80), 4);
        // 2,000 channels: 2 pixels, less than a block.
        assert_eq!(pixels_per_workgroup(2000, 10), 2);
        // One quad: the cap on pixels per workgroup.
        assert_eq!(pixels_per_workgroup(8, 1), MAX_PIXELS);
        for ic in [1, 3, 7, 24, 100, 513, 1025, 4096] {
            for ocq in [1, 2, 5, 16, 250] {
                let tp = pixels_per_workgroup(ic, ocq);
                assert!(tp >= 1 && tp * ic <= TILE.max(ic), "{ic} {ocq} -> {tp}");
            }
        }
    }
}
