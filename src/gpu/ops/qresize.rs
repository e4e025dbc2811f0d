//! Integer RESIZE_BILINEAR of int8 tensors (shaders/qresize.wgsl) in LiteRT's
//! fixed-point arithmetic (positions with 10 fractional bits), as the CPU kernel
//! computes it; align_corners and half_pixel_centers.

use super::quant::is_quantized;
use super::quant::{activation, input, output};
use super::{const_ints, LowerCtx, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::Support;
use crate::graph::quant::type_range;
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qresize.wgsl (scales with 10 fractional bits).
    struct QResizeParams {
        total: u32,
        ih: u32,
        iw: u32,
        c: u32,
        oh: u32,
        ow: u32,
        hs: i32,
        ws: i32,
        half_pixel: u32,
        lo: i32,
        hi: i32,
    }
}

static QRESIZE: Shader = Shader {
    name: "qresize",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qresize.wgsl")],
    selectors: &[],
    defines: &[],
    params: QResizeParams::LAYOUT,
};

fn plan(node: &Node, sg: &Subgraph) -> Support<(QResizeParams, usize)> {
    let Op::ResizeBilinear(p) = &node.op else {
        return Err(format!("{} is not RESIZE_BILINEAR", node.op.name()).into());
    };
    let x = input(node, sg, 0)?;
    let y = output(node, sg, 0)?;
    if x.dtype != DType::I8 || y.dtype != DType::I8 {
        return Err(format!(
            "integer resize of {} runs on the CPU; the GPU kernel takes int8",
            x.dtype
        )
        .into());
    }
    activation(x)?;
    let [n, h, w, c] = match x.shape[..] {
        [a, b, c, d] => [a, b, c, d],
        _ => return Err(format!("expected a 4-D NHWC input, got {:?}", x.shape).into()),
    };
    let size = const_ints(input(node, sg, 1)?)?;
    let [oh, ow] = match size[..] {
        [a, b] if a > 0 && b > 0 => [a as usize, b as usize],
        _ => return Err(format!("bad output size {size:?}").into()),
    };
    if h == 0 || w == 0 || y.shape != [n, oh, ow, c] {
        return Err(format!("output shape {:?} does not match", y.shape).into());
    }
    let sc = |i: usize, o: usize| -> i64 {
        if p.align_corners && o > 1 {
            ((1i64 << 10) * (i as i64 - 1) + (o as i64 - 1) / 2) / (o as i64 - 1)
        } else {
            ((1i64 << 10) * i as i64 + o as i64 / 2) / o as i64
        }
    };
    let (hs, ws) = (sc(h, oh), sc(w, ow));
    // Positions reach (size - 1) * scale; keep them and the weighted sums in i32.
    let reach = (oh.max(ow) as i64 + 1) * hs.max(ws);
    if reach > i32::MAX as i64 / 2 || h.max(w) > 1 << 20 {
        return Err("resize positions exceed the i32 range of the kernel".into());
    }
    let (lo, hi) = type_range(DType::I8);
    let total = y.num_elements();
    let params = QResizeParams {
        total: total as u32,
        ih: h as u32,
        iw: w as u32,
        c: c as u32,
        oh: oh as u32,
        ow: ow as u32,
        hs: hs as i32,
        ws: ws as i32,
        half_pixel: u32::from(p.half_pixel_centers),
        lo,
        hi,
    };
    Ok((params, total))
}

/// Why a quantized resize stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized resize.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (params, n) = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(&QRESIZE, vec![], params, vec![x, out], n as u64)
}

gpu_op! {
    /// Quantized RESIZE_BILINEAR.
    QResize "qresize" {
        claims: |node, sg| matches!(node.op, Op::ResizeBilinear(_)) && is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &QRESIZE,
        ],
    }
}
