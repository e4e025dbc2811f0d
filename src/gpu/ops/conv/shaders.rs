//! The kernels of the convolution family and their uniform structs: the
//! bodies shared by the float and integer variants, the float hooks and the
//! hook files that pick the input and weight loads, and the integer hooks,
//! every piece a file under `shaders/`.
//!
//! Activations are read one element at a time (`X_SCALAR`), or, when every
//! vec4 quad of the input is aligned (the channel count and the group's first
//! channel are multiples of 4), as quads (`X_QUAD`,
//! shaders/depthwise_conv2d_vec4.wgsl): `vec4<f16>` at fp16, converted to
//! `vec4<f32>` and accumulated in f32 as the scalar loads are. A different
//! binding type is a different module, so each load width is a `Shader` of its
//! own; the float lowering picks one per node.

use super::geometry::{ConvGeom, CONV_GEOM_WGSL};
use crate::gpu::ops::epilogue::{self, EpilogueParams, EPILOGUE_WGSL};
use crate::gpu::ops::QMATH_WGSL;
use crate::gpu::shader::Shader;

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

/// Float weights: four output channels per vec4.
const FLOAT_WEIGHTS: &str = include_str!("../../../../shaders/conv_w_float.wgsl");

/// Int8 weights packed four to a word; the bias buffer holds the channel scales
/// after the biases.
const INT8_WEIGHTS: &str = include_str!("../../../../shaders/conv_w_int8.wgsl");

/// Depthwise float weights, one per element.
const DW_FLOAT_WEIGHTS: &str = include_str!("../../../../shaders/depthwise_w_float.wgsl");

/// Depthwise int8 weights packed four to a word.
const DW_INT8_WEIGHTS: &str = include_str!("../../../../shaders/depthwise_w_int8.wgsl");

/// Float input, one element per load: `load_x(e)` (`load_x4`, built from it,
/// is there for the bodies' quad branch, which `QUAD_LOADS` turns off).
const X_SCALAR: &str = include_str!("../../../../shaders/conv_x_scalar.wgsl");

/// Float input as vec4 quads: `load_x4(q)`, 4 input channels per load (the
/// bodies' scalar branch, turned off by `QUAD_LOADS`, reads single elements of
/// the quads). Needs every group's channels and `fic` to be 4-aligned.
const X_QUAD: &str = include_str!("../../../../shaders/conv_x_quad.wgsl");

/// Depthwise float weights as quads of 4 channels.
const DW_FLOAT_WEIGHTS4: &str = include_str!("../../../../shaders/depthwise_w_float_x4.wgsl");

/// Depthwise int8 weights packed four to a word: one word is one quad; the
/// channel scales follow the bias quads.
const DW_INT8_WEIGHTS4: &str = include_str!("../../../../shaders/depthwise_w_int8_x4.wgsl");

/// shaders/conv2d.wgsl: the CONV_2D body shared by the float and integer
/// kernels, behind a variant's hooks.
const CONV2D_WGSL: &str = include_str!("../../../../shaders/conv2d.wgsl");
/// shaders/conv2d_direct.wgsl: the untiled body with the same hooks, for CPU
/// adapters.
const CONV2D_DIRECT_WGSL: &str = include_str!("../../../../shaders/conv2d_direct.wgsl");
/// shaders/conv2d_float.wgsl: the float hooks of CONV_2D (input and weights
/// from hook files).
const CONV2D_FLOAT_WGSL: &str = include_str!("../../../../shaders/conv2d_float.wgsl");
/// shaders/depthwise_conv2d.wgsl: the DEPTHWISE_CONV_2D body shared by the float
/// and integer kernels, behind a variant's hooks.
const DEPTHWISE_WGSL: &str = include_str!("../../../../shaders/depthwise_conv2d.wgsl");
/// shaders/depthwise_conv2d_float.wgsl: the float hooks of DEPTHWISE_CONV_2D.
const DEPTHWISE_FLOAT_WGSL: &str = include_str!("../../../../shaders/depthwise_conv2d_float.wgsl");
/// shaders/depthwise_conv2d_vec4.wgsl: the float channel-quad DEPTHWISE_CONV_2D
/// (weights from a hook file).
const DEPTHWISE_VEC4_WGSL: &str = include_str!("../../../../shaders/depthwise_conv2d_vec4.wgsl");

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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
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
    defines: &[],
    params: DepthwiseParams::LAYOUT,
};

/// The channel-quad depthwise kernel with int8 weights.
pub(super) static DEPTHWISE_CONV2D_W8_X4: Shader = Shader {
    name: "depthwise_conv2d_w8_x4",
    parts: &[CONV_GEOM_WGSL, DW_INT8_WEIGHTS4, DEPTHWISE_VEC4_WGSL],
    selectors: &[],
    defines: &[],
    params: DepthwiseParams::LAYOUT,
};

pub(super) static TRANSPOSE_CONV: Shader = Shader {
    name: "transpose_conv",
    parts: &[include_str!("../../../../shaders/transpose_conv.wgsl")],
    selectors: &[],
    defines: &[],
    params: TransposeConvParams::LAYOUT,
};

/// shaders/qconv2d.wgsl: the integer hooks of the CONV_2D bodies.
const QCONV2D_HOOKS: &str = include_str!("../../../../shaders/qconv2d.wgsl");

/// The integer CONV_2D (and FULLY_CONNECTED) kernel, tiled.
pub(super) static QCONV2D: Shader = Shader {
    name: "qconv2d",
    parts: &[QMATH_WGSL, CONV_GEOM_WGSL, QCONV2D_HOOKS, CONV2D_WGSL],
    selectors: &[],
    defines: &[],
    params: QConv2dParams::LAYOUT,
};

/// The integer CONV_2D kernel, one invocation per pixel, group and quad.
pub(super) static QCONV2D_DIRECT: Shader = Shader {
    name: "qconv2d_direct",
    parts: &[
        QMATH_WGSL,
        CONV_GEOM_WGSL,
        QCONV2D_HOOKS,
        CONV2D_DIRECT_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: QConv2dParams::LAYOUT,
};

/// The integer DEPTHWISE_CONV_2D kernel.
pub(super) static QDEPTHWISE_CONV2D: Shader = Shader {
    name: "qdepthwise_conv2d",
    parts: &[
        QMATH_WGSL,
        CONV_GEOM_WGSL,
        include_str!("../../../../shaders/qdepthwise_conv2d.wgsl"),
        DEPTHWISE_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: QDepthwiseParams::LAYOUT,
};
