//! QUANTIZE and DEQUANTIZE of runtime tensors: float to quantized
//! (shaders/quantize.wgsl), quantized to float (dequantize.wgsl) and between
//! two quantizations (requantize.wgsl).

use super::quant::{input, is_quant_dtype, multiplier, output, qparams};
use super::{LowerCtx, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::Support;
use crate::graph::quant::type_range;
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/quantize.wgsl.
    struct QuantizeParams {
        n: u32,
        zp: i32,
        scale: f32,
        lo: i32,
        hi: i32,
    }
}

uniforms! {
    /// `Params` of shaders/dequantize.wgsl.
    struct DequantizeParams {
        n: u32,
        zp: i32,
        scale: f32,
    }
}

uniforms! {
    /// `Params` of shaders/requantize.wgsl.
    struct RequantizeParams {
        n: u32,
        in_zp: i32,
        out_zp: i32,
        mantissa: i32,
        shift: i32,
        lo: i32,
        hi: i32,
    }
}

/// A planned QUANTIZE or DEQUANTIZE: its kernel and uniforms.
enum Conversion {
    Quantize(QuantizeParams),
    Dequantize(DequantizeParams),
    Requantize(RequantizeParams),
}

static QUANTIZE: Shader = Shader {
    name: "quantize",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/quantize.wgsl")],
    selectors: &[],
    defines: &[],
    params: QuantizeParams::LAYOUT,
};

static DEQUANTIZE: Shader = Shader {
    name: "dequantize",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/dequantize.wgsl")],
    selectors: &[],
    defines: &[],
    params: DequantizeParams::LAYOUT,
};

static REQUANTIZE: Shader = Shader {
    name: "requantize",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/requantize.wgsl")],
    selectors: &[],
    defines: &[],
    params: RequantizeParams::LAYOUT,
};

/// A planned QUANTIZE or DEQUANTIZE: shader and uniform words.
fn plan_convert(node: &Node, sg: &Subgraph) -> Support<Conversion> {
    let x = input(node, sg, 0)?;
    let y = output(node, sg, 0)?;
    if x.num_elements() != y.num_elements() {
        return Err("input and output sizes differ".into());
    }
    if x.is_constant() {
        return Err(format!("tensor {} is a constant", x.name).into());
    }
    let n = y.num_elements() as u32;
    match (x.dtype, y.dtype) {
        (DType::F32, o) if is_quant_dtype(o) => {
            let (scale, zp) = qparams(y)?;
            let (lo, hi) = type_range(o);
            Ok(Conversion::Quantize(QuantizeParams {
                n,
                zp,
                scale,
                lo,
                hi,
            }))
        }
        (i, DType::F32) if is_quant_dtype(i) => {
            let (scale, zp) = qparams(x)?;
            Ok(Conversion::Dequantize(DequantizeParams { n, zp, scale }))
        }
        (i, o) if is_quant_dtype(i) && is_quant_dtype(o) && node.op == Op::Quantize => {
            let (si, zi) = qparams(x)?;
            let (so, zo) = qparams(y)?;
            let (lo, hi) = type_range(o);
            let m = multiplier(si as f64 / so as f64);
            Ok(Conversion::Requantize(RequantizeParams {
                n,
                in_zp: zi,
                out_zp: zo,
                mantissa: m.mantissa,
                shift: m.shift,
                lo,
                hi,
            }))
        }
        (i, o) => Err(format!("{} from {i} to {o} runs on the CPU", node.op.name()).into()),
    }
}

fn lower_convert(ctx: &mut LowerCtx) -> Result<()> {
    let planned = plan_convert(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    match planned {
        Conversion::Quantize(p) => ctx.dispatch(&QUANTIZE, vec![], p, vec![x, out], p.n.into()),
        Conversion::Dequantize(p) => ctx.dispatch(&DEQUANTIZE, vec![], p, vec![x, out], p.n.into()),
        Conversion::Requantize(p) => ctx.dispatch(&REQUANTIZE, vec![], p, vec![x, out], p.n.into()),
    }
}

gpu_op! {
    /// QUANTIZE and DEQUANTIZE of runtime tensors (float <-> quantized, and requantization).
    Convert "convert" {
        claims: |node, _| matches!(node.op, Op::Quantize | Op::Dequantize),
        support: |node, sg| plan_convert(node, sg).map(|_| ()),
        lower: lower_convert,
        shaders: [
            &QUANTIZE,
            &DEQUANTIZE,
            &REQUANTIZE,
        ],
    }
}
