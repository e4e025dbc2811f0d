//! How a convolution splits into workgroups: the tile shape and variant of the
//! implicit-GEMM CONV_2D kernel (shaders/conv2d.wgsl, shaders/conv2d_direct.wgsl),
//! shared by the float and integer lowerings, and the invocations of the
//! depthwise kernels, from what [`Adapter`] reads of the adapter the program is
//! planned for: CPU adapters by the cost of their tiles here, GPUs by
//! occupancy.rs.

use super::geometry::ConvNode;
use super::occupancy::{gpu_tiles, Gpu, TileShape, TILED_STORAGE};
use crate::gpu::ops::tiling::Adapter;
use crate::gpu::pipeline::WORKGROUP_SIZE;

/// The quads of a convolution workgroup tile the kernel offers (`TQ` in
/// shaders/conv2d.wgsl), in order of preference at equal cost; the tile then
/// has 256 / TQ pixels.
const CONV_TQ: [usize; 4] = [8, 4, 16, 2];
/// Relative cost of one load into workgroup memory, in products.
const LOAD_COST: usize = 2;

/// How one CONV_2D (or FULLY_CONNECTED as a 1x1 convolution) node runs on the
/// tiled kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConvTiles {
    /// Output pixels: batch * oh * ow (the kernel's `g.total`).
    pub(super) pixels: usize,
    /// Convolution groups.
    pub(super) groups: usize,
    /// Output channels per group.
    pub(super) ocg: usize,
    /// vec4 quads per group.
    pub(super) ocq: usize,
    /// A 1x1 filter at stride 1 without padding: the POINTWISE variant, a plain
    /// GEMM without window arithmetic.
    pub(super) pointwise: bool,
    /// The tile: invocations per workgroup, quads, pixels per invocation and K
    /// slices (`WG`, `TQ`, `RM`, `SK`).
    pub(super) shape: TileShape,
    /// Workgroups to launch: one per tile of pixels x quads of one group (the
    /// direct kernel: one invocation per pixel, group and quad).
    pub(super) workgroups: u64,
    /// The direct kernel (shaders/conv2d_direct.wgsl) instead of the tiled one.
    pub(super) direct: bool,
}

impl ConvTiles {
    /// The tiling of a checked convolution geometry on a CPU adapter: 64
    /// invocations of 4 pixels x 4 channels, the quads per tile by cost.
    pub(super) fn of(g: &ConvNode) -> ConvTiles {
        let groups = (g.geo.ic / g.fic.max(1)).max(1);
        let ocg = g.oc / groups;
        let ocq = ocg.div_ceil(4);
        let pixels = g.geo.n * g.geo.oh * g.geo.ow;
        let pointwise = g.geo.kh == 1
            && g.geo.kw == 1
            && g.geo.sh == 1
            && g.geo.sw == 1
            && g.geo.pt == 0
            && g.geo.pl == 0
            && g.geo.ih == g.geo.oh
            && g.geo.iw == g.geo.ow;
        // Cost per K step of a tile shape: every tile does 256 x 4 products,
        // padded ones included (lanes past the last pixel or quad still run),
        // plus its loads into workgroup memory (tile_m inputs and 4 * tq
        // weights) at LOAD_COST each; narrow layers take tall tiles, small
        // images wide ones.
        let cost = |tq: usize| {
            let tile_m = 256 / tq;
            let tiles = pixels.div_ceil(tile_m) * ocq.div_ceil(tq);
            tiles * (1024 + LOAD_COST * (tile_m + 4 * tq))
        };
        let mut tq = CONV_TQ[0];
        for &t in &CONV_TQ[1..] {
            if cost(t) < cost(tq) {
                tq = t;
            }
        }
        let tiles = pixels.div_ceil(256 / tq) * ocq.div_ceil(tq) * groups;
        ConvTiles {
            pixels,
            groups,
            ocg,
            ocq,
            pointwise,
            shape: TileShape::cpu(tq),
            workgroups: tiles as u64,
            direct: false,
        }
    }

    /// The variant for `adapter`: on GPUs the tiled kernel with the tiles of
    /// occupancy.rs (every compute unit filled, bounded work per invocation);
    /// on CPU adapters the direct kernel, since their workgroups are CPU tasks
    /// that pay for every barrier and workgroup-memory stage (unless
    /// `Tuning::tiled_convolutions` says otherwise, as the tests of the tiled
    /// path do, which then run the CPU tiles). A device whose workgroups cannot
    /// hold the tiled kernel's memory or invocations runs the direct kernel.
    pub(super) fn choose(g: &ConvNode, adapter: &Adapter) -> ConvTiles {
        let mut t = ConvTiles::of(g);
        let gpu = Gpu {
            compute_units: adapter.compute_units as usize,
            invocations: adapter.invocations as usize,
        };
        let fits = adapter.workgroup_storage >= TILED_STORAGE;
        let shape = if adapter.cpu {
            (fits && adapter.tuning.tiled_convolutions).then_some(t.shape)
        } else if fits {
            let k = g.geo.kh * g.geo.kw * g.fic;
            gpu_tiles(t.pixels, t.ocq, t.groups, k, gpu)
        } else {
            None
        };
        match shape {
            Some(s) => {
                t.shape = s;
                t.workgroups = s.workgroups(t.pixels, t.ocq, t.groups) as u64;
            }
            None => {
                t.direct = true;
                t.workgroups = t.invocations().div_ceil(WORKGROUP_SIZE as usize) as u64;
            }
        }
        t
    }

    /// Invocations per workgroup of the variant.
    pub(super) fn workgroup_size(&self) -> u32 {
        if self.direct {
            WORKGROUP_SIZE
        } else {
            self.shape.wg as u32
        }
    }

    /// Invocations of the direct kernel: one per pixel, group and quad.
    fn invocations(&self) -> usize {
        self.pixels * self.groups * self.ocq
    }

    /// The kernel's `g.total`: output pixels (tiled) or invocations (direct).
    pub(super) fn total(&self) -> usize {
        if self.direct {
            self.invocations()
        } else {
            self.pixels
        }
    }

    /// The override constants of the variant.
    pub(super) fn constants(&self) -> Vec<(&'static str, f64)> {
        if self.direct {
            return Vec::new();
        }
        let mut c = vec![
            ("POINTWISE", f64::from(u8::from(self.pointwise))),
            ("TQ", self.shape.tq as f64),
        ];
        c.extend(self.shape.constants());
        c
    }
}

/// Horizontally neighbouring output pixels of one depthwise invocation
/// (`PIXELS` in shaders/depthwise_conv2d.wgsl).
pub(super) const DEPTHWISE_PIXELS: usize = 4;

/// Invocations of a depthwise convolution: one per channel and block of
/// [`DEPTHWISE_PIXELS`] pixels of an output row.
pub(super) fn depthwise_invocations(g: &ConvNode) -> usize {
    g.geo.n * g.geo.oh * g.geo.ow.div_ceil(DEPTHWISE_PIXELS) * g.oc
}

#[cfg(test)]
mod tests {
    use super::super::geometry::Kind;
    use super::*;
    use crate::graph::op::Activation;
    use crate::graph::shape::ConvGeometry;

    fn geom(n: usize, hw: usize, ic: usize, oc: usize, k: usize, s: usize, pad: usize) -> ConvNode {
        let o = (hw + 2 * pad - k) / s + 1;
        ConvNode {
            kind: Kind::Conv,
            geo: ConvGeometry {
                n,
                ih: hw,
                iw: hw,
                ic,
                oh: o,
                ow: o,
                kh: k,
                kw: k,
                sh: s,
                sw: s,
                dh: 1,
                dw: 1,
                pt: pad,
                pl: pad,
            },
            oc,
            fic: ic,
            act: Activation::None,
            x_idx: 0,
            bias_idx: 2,
        }
    }

    #[test]
    fn tiles_cover_every_pixel_and_channel() {
        let t = ConvTiles::of(&geom(2, 7, 16, 33, 3, 1, 1));
        assert_eq!(t.pixels, 2 * 7 * 7);
        assert_eq!(t.ocq, 9);
        assert!(!t.pointwise);
        // 98 pixels x 9 quads: tiles of 2 quads x 128 pixels (5 tiles of cost
        // 1296) beat 4 x 64 (6 of 1184), 16 x 16 (7 of 1184), 8 x 32 (8 of 1152).
        assert_eq!(t.shape.tq, 2);
        assert_eq!(t.workgroups, 5);
        // A wide layer on a small image: 160 quads x 16 pixels.
        let wide = ConvTiles::of(&geom(1, 4, 64, 640, 1, 1, 0));
        assert_eq!(wide.shape.tq, 16);
        assert_eq!(wide.workgroups, 10);
        // Two quads over 64 x 64 pixels: tall tiles, no padded quads.
        let narrow = ConvTiles::of(&geom(1, 64, 8, 8, 3, 1, 1));
        assert_eq!(narrow.shape.tq, 2);
        assert_eq!(narrow.workgroups, 4096 / 128);
        let p = ConvTiles::of(&geom(1, 5, 8, 4, 1, 1, 0));
        assert!(p.pointwise);
        assert_eq!(p.workgroups, 1);
        assert!(!ConvTiles::of(&geom(1, 5, 8, 4, 1, 2, 0)).pointwise);
    }
}
