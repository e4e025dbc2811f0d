//! The WGSL variants of the convolution family (conv.rs) and their pieces: the
//! bodies shared with the integer kernels (qconv.rs), the float hooks, and the
//! defines that pick the input and weight loads.
//!
//! Activations are read one element at a time (`X_SCALAR`), or, when every
//! vec4 quad of the input is aligned (the channel count and the group's first
//! channel are multiples of 4), as quads (`X_QUAD`,
//! shaders/depthwise_conv2d_vec4.wgsl): `vec4<f16>` at fp16, converted to
//! `vec4<f32>` and accumulated in f32 as the scalar loads are. A different
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

/// Float input, one element per load: `load_x(e)` (`load_x4`, built from it,
/// is there for the bodies' quad branch, which `QUAD_LOADS` turns off).
const X_SCALAR: &str = "const QUAD_LOADS: bool = false;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
fn load_x(e: u32) -> f32 { return f32(x[e]); }
fn load_x4(q: u32) -> vec4<f32> {
    return vec4<f32>(load_x(4u * q), load_x(4u * q + 1u), load_x(4u * q + 2u), load_x(4u * q + 3u));
}
";

/// Float input as vec4 quads: `load_x4(q)`, 4 input channels per load (the
/// bodies' scalar branch, turned off by `QUAD_LOADS`, reads single elements of
/// the quads). Needs every group's channels and `fic` to be 4-aligned.
const X_QUAD: &str = "const QUAD_LOADS: bool = true;
@group(0) @binding(1) var<storage, read> x: array<vec4<scalar>>;
fn load_x4(q: u32) -> vec4<f32> { return vec4<f32>(x[q]); }
fn load_x(e: u32) -> f32 { return f32(x[e / 4u][e % 4u]); }
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

/// shaders/conv2d.wgsl (tiled) over input quads.
pub(super) static CONV2D_X4: Shader = Shader {
    name: "conv2d_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_QUAD,
        FLOAT_WEIGHTS,
        CONV2D_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

/// shaders/conv2d.wgsl (tiled) over input quads with int8 weights.
pub(super) static CONV2D_W8_X4: Shader = Shader {
    name: "conv2d_w8_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_QUAD,
        INT8_WEIGHTS,
        CONV2D_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

/// shaders/conv2d_direct.wgsl over input quads.
pub(super) static CONV2D_DIRECT_X4: Shader = Shader {
    name: "conv2d_direct_x4",
    parts: &[
        CONV_GEOM_WGSL,
        EPILOGUE_WGSL,
        CONV2D_FLOAT_WGSL,
        X_QUAD,
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
        X_QUAD,
        INT8_WEIGHTS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: epilogue::SELECTORS,
    params: Conv2dParams::LAYOUT,
};

/// The CONV_2D kernel of a node: tiled or `direct`, input read as vec4 `quads`
/// or one element at a time, float or int8 weights.
pub(super) fn conv2d_shader(direct: bool, quads: bool, int8_weights: bool) -> &'static Shader {
    match (direct, quads, int8_weights) {
        (false, false, false) => &CONV2D,
        (false, false, true) => &CONV2D_W8,
        (false, true, false) => &CONV2D_X4,
        (false, true, true) => &CONV2D_W8_X4,
        (true, false, false) => &CONV2D_DIRECT,
        (true, false, true) => &CONV2D_W8_DIRECT,
        (true, true, false) => &CONV2D_DIRECT_X4,
        (true, true, true) => &CONV2D_W8_DIRECT_X4,
    }
}

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
