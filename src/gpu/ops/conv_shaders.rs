//! The WGSL variants of the convolution family (conv.rs) and their pieces: the
//! bodies shared with the integer kernels (qconv.rs), the float hooks, and the
//! defines that pick the input and weight loads.
//!
//! Activations are read one element at a time (`X_SCALAR`, `TAP_SCALAR`), or,
//! when every vec4 quad of the input is aligned (the channel count and the
//! group's first channel are multiples of 4), as quads (`TAP_QUAD`,
//! shaders/depthwise_conv2d_vec4.wgsl): vec4<f16> at fp16, converted to
//! vec4<f32> and accumulated in f32 as the scalar loads are. A different
//! binding type is a different module, so each load width is a `Shader` of its
//! own; conv.rs picks one per node.

use super::conv::{Conv2dParams, DepthwiseParams, TransposeConvParams, CONV_GEOM_WGSL};
use super::epilogue::{self, EPILOGUE_WGSL};
use super::Shader;

/// Float weights: four output channels per vec4.
const FLOAT_WEIGHTS: &str = "@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;
fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(w[i]); }
fn wscale(c: u32) -> f32 { return 1.0; }
";

/// Int8 weights packed four to a word; the bias buffer holds the channel scales
/// after the biases.
const INT8_WEIGHTS: &str = "@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(unpack4xI8(w[i])); }
fn wscale(c: u32) -> f32 { return bias[p.g.oc + c]; }
";

/// Depthwise float weights, one per element.
const DW_FLOAT_WEIGHTS: &str = "@group(0) @binding(2) var<storage, read> w: array<scalar>;
fn weight1(e: u32) -> f32 { return f32(w[e]); }
fn wscale(c: u32) -> f32 { return 1.0; }
";

/// Depthwise int8 weights packed four to a word.
const DW_INT8_WEIGHTS: &str = "@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight1(e: u32) -> f32 {
    return f32(extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u));
}
fn wscale(c: u32) -> f32 { return bias[p.g.oc + c]; }
";

/// Float input, one element per load: `load_x(e)`.
const X_SCALAR: &str = "@group(0) @binding(1) var<storage, read> x: array<scalar>;
fn load_x(e: u32) -> f32 { return f32(x[e]); }
";

/// One filter tap of shaders/conv2d_direct.wgsl, one input channel per load
/// (float and integer kernels): `tap(xb, wb)` sums the group's `fic` channels.
pub(super) const TAP_SCALAR: &str = "fn tap(xb: u32, wb: u32) -> vec4<acc_t> {
    var s = vec4<acc_t>();
    for (var ci = 0u; ci < p.g.fic; ci++) {
        s += load_x(xb + ci) * weight4(wb + ci * p.ocq);
    }
    return s;
}
";

/// Float input as vec4 quads and one filter tap of shaders/conv2d_direct.wgsl
/// over them: 4 input channels per load, each multiplying its weight quad (16
/// products per input quad and 4 weight quads). Needs `fic` and the tap's
/// first element `xb` to be multiples of 4.
const TAP_QUAD: &str = "@group(0) @binding(1) var<storage, read> x: array<vec4<scalar>>;
fn tap(xb: u32, wb: u32) -> vec4<f32> {
    var s = vec4<f32>();
    let x0 = xb / 4u;
    let step = p.ocq;
    for (var cq = 0u; cq < p.g.fic / 4u; cq++) {
        let xv = vec4<f32>(x[x0 + cq]);
        let w = wb + cq * 4u * step;
        s += xv.x * weight4(w) + xv.y * weight4(w + step)
            + xv.z * weight4(w + 2u * step) + xv.w * weight4(w + 3u * step);
    }
    return s;
}
";

/// Depthwise float weights as quads of 4 channels.
const DW_FLOAT_WEIGHTS4: &str = "@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(w[q]); }
fn wscale4(q: u32) -> vec4<f32> { return vec4<f32>(1.0); }
";

/// Depthwise int8 weights packed four to a word: one word is one quad; the
/// channel scales follow the bias quads.
const DW_INT8_WEIGHTS4: &str = "@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(unpack4xI8(w[q])); }
fn wscale4(q: u32) -> vec4<f32> { return bias[p.g.oc / 4u + q]; }
";

/// shaders/conv2d.wgsl: the CONV_2D body shared by the float and integer
/// kernels, behind a variant's hooks.
pub(super) const CONV2D_WGSL: &str = include_str!("../../../shaders/conv2d.wgsl");
/// shaders/conv2d_direct.wgsl: the untiled body with the same hooks, for CPU
/// adapters.
pub(super) const CONV2D_DIRECT_WGSL: &str = include_str!("../../../shaders/conv2d_direct.wgsl");
/// shaders/conv2d_float.wgsl: the float hooks of CONV_2D (weights from a define).
const CONV2D_FLOAT_WGSL: &str = include_str!("../../../shaders/conv2d_float.wgsl");
/// shaders/depthwise_conv2d.wgsl: the DEPTHWISE_CONV_2D body shared by the float
/// and integer kernels, behind a variant's hooks.
pub(super) const DEPTHWISE_WGSL: &str = include_str!("../../../shaders/depthwise_conv2d.wgsl");
/// shaders/depthwise_conv2d_float.wgsl: the float hooks of DEPTHWISE_CONV_2D.
const DEPTHWISE_FLOAT_WGSL: &str = include_str!("../../../shaders/depthwise_conv2d_float.wgsl");
/// shaders/depthwise_conv2d_vec4.wgsl: the float channel-quad DEPTHWISE_CONV_2D
/// (weights from a define).
const DEPTHWISE_VEC4_WGSL: &str = include_str!("../../../shaders/depthwise_conv2d_vec4.wgsl");

pub(super) static CONV2D: Shader = Shader {
    name: "conv2d",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_SCALAR,
        FLOAT_WEIGHTS,
        CONV2D_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

pub(super) static CONV2D_W8: Shader = Shader {
    name: "conv2d_w8",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_SCALAR,
        INT8_WEIGHTS,
        CONV2D_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

pub(super) static CONV2D_DIRECT: Shader = Shader {
    name: "conv2d_direct",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_SCALAR,
        TAP_SCALAR,
        FLOAT_WEIGHTS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

pub(super) static CONV2D_W8_DIRECT: Shader = Shader {
    name: "conv2d_w8_direct",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_SCALAR,
        TAP_SCALAR,
        INT8_WEIGHTS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

pub(super) static DEPTHWISE_CONV2D: Shader = Shader {
    name: "depthwise_conv2d",
    parts: &[
        CONV_GEOM_WGSL,
        DEPTHWISE_FLOAT_WGSL,
        DW_FLOAT_WEIGHTS,
        DEPTHWISE_WGSL,
    ],
    selectors: &[],
    params: DepthwiseParams::LAYOUT,
};

pub(super) static DEPTHWISE_CONV2D_W8: Shader = Shader {
    name: "depthwise_conv2d_w8",
    parts: &[
        CONV_GEOM_WGSL,
        DEPTHWISE_FLOAT_WGSL,
        DW_INT8_WEIGHTS,
        DEPTHWISE_WGSL,
    ],
    selectors: &[],
    params: DepthwiseParams::LAYOUT,
};

/// shaders/conv2d_direct.wgsl over input quads (TAP_QUAD).
pub(super) static CONV2D_DIRECT_X4: Shader = Shader {
    name: "conv2d_direct_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        TAP_QUAD,
        FLOAT_WEIGHTS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

/// shaders/conv2d_direct.wgsl over input quads with int8 weights.
pub(super) static CONV2D_W8_DIRECT_X4: Shader = Shader {
    name: "conv2d_w8_direct_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        TAP_QUAD,
        INT8_WEIGHTS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

/// shaders/depthwise_conv2d_vec4.wgsl: depth multiplier 1 over channel quads.
pub(super) static DEPTHWISE_CONV2D_X4: Shader = Shader {
    name: "depthwise_conv2d_x4",
    parts: &[CONV_GEOM_WGSL, DW_FLOAT_WEIGHTS4, DEPTHWISE_VEC4_WGSL],
    selectors: &[],
    params: DepthwiseParams::LAYOUT,
};

/// The channel-quad depthwise kernel with int8 weights.
pub(super) static DEPTHWISE_CONV2D_W8_X4: Shader = Shader {
    name: "depthwise_conv2d_w8_x4",
    parts: &[CONV_GEOM_WGSL, DW_INT8_WEIGHTS4, DEPTHWISE_VEC4_WGSL],
    selectors: &[],
    params: DepthwiseParams::LAYOUT,
};

pub(super) static TRANSPOSE_CONV: Shader = Shader {
    name: "transpose_conv",
    parts: &[include_str!("../../../shaders/transpose_conv.wgsl")],
    selectors: &[],
    params: TransposeConvParams::LAYOUT,
};
