//! The geometry of a convolution node, checked (a leaf of the family: it
//! imports none of its siblings). The spatial part (output size, padding,
//! dilation) is [`ConvGeometry`], the CPU's; a [`ConvNode`] adds what the GPU
//! kernels need besides: the kind, the output channels and filter channels,
//! the fused activation and where the data and bias inputs are. FULLY_CONNECTED
//! is a 1x1 convolution here ([`fc_geom`]). [`ConvGeom`] is the geometry as the
//! uniforms every convolution kernel begins with (shaders/conv_geom.wgsl).

use crate::gpu::ops::quant::{input, output};
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Activation;
use crate::graph::shape::ConvGeometry;
use crate::graph::{Node, Op, Subgraph, TensorInfo};

/// shaders/conv_geom.wgsl: the WGSL of [`ConvGeom`], put in front of every
/// convolution kernel (float and integer).
pub(crate) const CONV_GEOM_WGSL: &str = include_str!("../../../../shaders/conv_geom.wgsl");

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

/// Which kernel a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Conv,
    Depthwise,
    Transpose,
}

/// One convolution node, checked: its spatial geometry and what the kernels
/// need besides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvNode {
    pub(crate) kind: Kind,
    /// Batch, sizes, strides, dilations and padding.
    pub(crate) geo: ConvGeometry,
    /// Output channels.
    pub(crate) oc: usize,
    /// Filter input channels (conv), depth multiplier (depthwise), ic (transpose).
    pub(crate) fic: usize,
    pub(crate) act: Activation,
    /// Index of the data input.
    pub(crate) x_idx: usize,
    /// Index of the (optional) bias input.
    pub(crate) bias_idx: usize,
}

impl ConvNode {
    /// The uniforms the convolution and depthwise kernels (float and integer)
    /// begin with, for `total` invocations.
    pub(crate) fn uniforms(&self, total: usize) -> ConvGeom {
        let u = |v: usize| v as u32;
        let g = &self.geo;
        ConvGeom {
            total: u(total),
            ih: u(g.ih),
            iw: u(g.iw),
            ic: u(g.ic),
            oh: u(g.oh),
            ow: u(g.ow),
            oc: u(self.oc),
            kh: u(g.kh),
            kw: u(g.kw),
            fic: u(self.fic),
            sh: u(g.sh),
            sw: u(g.sw),
            dh: u(g.dh),
            dw: u(g.dw),
            pt: u(g.pt),
            pl: u(g.pl),
        }
    }
}

/// The four dimensions of a 4-D tensor.
pub(crate) fn dims4(t: &TensorInfo, what: &str) -> Support<[usize; 4]> {
    match t.shape[..] {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(format!("{what} {} must be 4-D, got {:?}", t.name, t.shape).into()),
    }
}

/// Check a CONV_2D, DEPTHWISE_CONV_2D or TRANSPOSE_CONV node and compute its
/// geometry (the reason on failure).
pub(crate) fn geom(node: &Node, sg: &Subgraph) -> Support<ConvNode> {
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
        op => return Err(format!("{} is not a convolution", op.name()).into()),
    };
    if act.range().is_none() {
        return Err(format!("fused {act:?} runs on the CPU").into());
    }
    if sh == 0 || sw == 0 || dh == 0 || dw == 0 {
        return Err("invalid stride or dilation".into());
    }
    let (x_idx, bias_idx) = match &node.op {
        Op::TransposeConv(_) => (2, 3),
        _ => (0, 2),
    };
    let x = input(node, sg, x_idx)?;
    let f = input(node, sg, 1)?;
    if !f.is_constant() {
        return Err(format!(
            "filter {} is computed at run time; the GPU kernels take constant weights",
            f.name
        )
        .into());
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
    let forward = || {
        ConvGeometry::forward(padding, [n, ih, iw, ic], [kh, kw], [sh, sw], [dh, dw])
            .ok_or(Unsupported::from("a zero stride, dilation or kernel size"))
    };
    let (geo, fic) = match kind {
        Kind::Conv => {
            if f3 == 0 || ic % f3 != 0 || f0 % (ic / f3) != 0 {
                return Err(
                    format!("filter {:?} does not fit input channels {ic}", f.shape).into(),
                );
            }
            let geo = forward()?;
            if [on, oh, ow, oc] != [n, geo.oh, geo.ow, f0] {
                return Err(format!(
                    "output shape {:?} differs from the computed {:?}",
                    out.shape,
                    [n, geo.oh, geo.ow, f0]
                )
                .into());
            }
            (geo, f3)
        }
        Kind::Depthwise => {
            if f0 != 1 || ic == 0 || f3 % ic != 0 {
                return Err(
                    format!("filter {:?} does not fit input channels {ic}", f.shape).into(),
                );
            }
            let m = f3 / ic;
            if mult != 0 && mult != m {
                return Err(format!(
                    "depth multiplier {mult} disagrees with filter channels {f3} / {ic}"
                )
                .into());
            }
            let geo = forward()?;
            if [on, oh, ow, oc] != [n, geo.oh, geo.ow, f3] {
                return Err(format!(
                    "output shape {:?} differs from the computed {:?}",
                    out.shape,
                    [n, geo.oh, geo.ow, f3]
                )
                .into());
            }
            (geo, m)
        }
        Kind::Transpose => {
            if f3 != ic {
                return Err(
                    format!("filter input channels {f3} differ from input channels {ic}").into(),
                );
            }
            if on != n || oc != f0 {
                return Err(format!(
                    "output shape {:?} disagrees with input batch {n} / filter channels {f0}",
                    out.shape
                )
                .into());
            }
            let geo =
                ConvGeometry::transposed(padding, [n, ih, iw, ic], [kh, kw], [sh, sw], [oh, ow])
                    .ok_or(Unsupported::from("a zero stride or kernel size"))?;
            (geo, f3)
        }
    };
    if let Some(b) = node.input(bias_idx).map(|t| &sg.tensors[t]) {
        if !b.is_constant() {
            return Err(format!(
                "bias {} is computed at run time; the GPU kernels take constant biases",
                b.name
            )
            .into());
        }
        if b.num_elements() != oc {
            return Err(format!(
                "bias {} has {} elements, expected {oc}",
                b.name,
                b.num_elements()
            )
            .into());
        }
    }
    Ok(ConvNode {
        kind,
        geo,
        oc,
        fic,
        act,
        x_idx,
        bias_idx,
    })
}

/// The geometry of FULLY_CONNECTED as a 1x1 convolution: each input row a
/// pixel, the [units, inner] weights an OHWI filter.
pub(crate) fn fc_geom(node: &Node, sg: &Subgraph, act: Activation) -> Support<ConvNode> {
    let x = input(node, sg, 0)?;
    let w = input(node, sg, 1)?;
    let y = output(node, sg, 0)?;
    let [units, inner] = match w.shape[..] {
        [a, b] => [a, b],
        _ => return Err(format!("weights must be 2-D, got {:?}", w.shape).into()),
    };
    let len = x.num_elements();
    if inner == 0 || len % inner != 0 {
        return Err(format!("input of {len} elements does not divide into rows of {inner}").into());
    }
    let rows = len / inner;
    if let Some(b) = node.input(2).map(|t| &sg.tensors[t]) {
        if !b.is_constant() || b.num_elements() != units {
            return Err(format!("bias {} must be a constant of {units} elements", b.name).into());
        }
    }
    if y.num_elements() != rows * units || y.shape.last() != Some(&units) {
        return Err(format!(
            "output shape {:?} does not hold {rows} rows of {units}",
            y.shape
        )
        .into());
    }
    Ok(ConvNode {
        kind: Kind::Conv,
        geo: ConvGeometry {
            n: rows,
            ih: 1,
            iw: 1,
            ic: inner,
            oh: 1,
            ow: 1,
            kh: 1,
            kw: 1,
            sh: 1,
            sw: 1,
            dh: 1,
            dw: 1,
            pt: 0,
            pl: 0,
        },
        oc: units,
        fic: inner,
        act,
        x_idx: 0,
        bias_idx: 2,
    })
}

/// Whether a CONV_2D (or hybrid FULLY_CONNECTED) reads its input as vec4
/// quads: the input's channel count and each group's first channel are
/// multiples of 4, so every quad a tap reads starts 4-aligned. A buffer's start
/// stays aligned too: a slice of a concatenation starts a whole number of
/// pixels in, a multiple of the channel count.
pub(crate) fn quad_input(g: &ConvNode) -> bool {
    g.geo.ic % 4 == 0 && g.fic % 4 == 0
}

/// Whether a DEPTHWISE_CONV_2D runs on channel quads: depth multiplier 1 (input
/// quad c feeds output quad c) and a channel count that is a multiple of 4.
pub(crate) fn quad_depthwise(g: &ConvNode) -> bool {
    g.fic == 1 && g.oc % 4 == 0 && g.geo.ic == g.oc
}

/// OHWI int8 conv weights re-laid out as [group][k][ocq * 4] bytes (zero-padded),
/// so that each u32 word holds 4 consecutive output channels of one tap (the
/// layout of the float kernel's weights, packed).
pub(crate) fn pack_conv(bytes: &[u8], g: &ConvNode) -> Vec<u8> {
    let groups = g.geo.ic / g.fic;
    let ocg = g.oc / groups;
    let ocq = ocg.div_ceil(4);
    let k = g.geo.kh * g.geo.kw * g.fic;
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
