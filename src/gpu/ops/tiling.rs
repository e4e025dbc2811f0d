//! Tile sizes and variant choice of the tiled kernels (not an op family): the
//! implicit-GEMM convolution (shaders/conv2d.wgsl), shared by the float and
//! integer lowerings, decides here how a node splits into workgroups.

use super::conv::Geom;
use crate::gpu::device::GpuDevice;

/// What the cost model reads of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Adapter {
    /// A software implementation on CPU threads (lavapipe): each workgroup is a
    /// CPU task, barriers are costly, and a few hundred workgroups fill it.
    pub(super) cpu: bool,
    /// Largest workgroup memory in bytes.
    pub(super) workgroup_storage: u32,
}

impl Adapter {
    /// The adapter of `gpu`.
    pub(super) fn of(gpu: &GpuDevice) -> Adapter {
        Adapter {
            cpu: gpu.info.device_type == wgpu::DeviceType::Cpu,
            workgroup_storage: gpu.limits.max_compute_workgroup_storage_size,
        }
    }
}

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
    /// Quads per workgroup tile (`TQ`); the tile has 256 / tq pixels.
    pub(super) tq: usize,
    /// Workgroups to launch: one per tile of pixels x quads of one group (the
    /// direct kernel: one invocation per pixel, group and quad).
    pub(super) workgroups: u64,
    /// The direct kernel (shaders/conv2d_direct.wgsl) instead of the tiled one.
    pub(super) direct: bool,
}

impl ConvTiles {
    /// The tiling of a checked convolution geometry.
    pub(super) fn of(g: &Geom) -> ConvTiles {
        let groups = (g.ic / g.fic.max(1)).max(1);
        let ocg = g.oc / groups;
        let ocq = ocg.div_ceil(4);
        let pixels = g.n * g.oh * g.ow;
        let pointwise = g.kh == 1
            && g.kw == 1
            && g.sh == 1
            && g.sw == 1
            && g.pt == 0
            && g.pl == 0
            && g.ih == g.oh
            && g.iw == g.ow;
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
            tq,
            workgroups: tiles as u64,
            direct: false,
        }
    }

    /// The variant for `adapter`: the tiled kernel on GPUs; the direct kernel on
    /// CPU adapters, whose workgroups are CPU tasks that pay for every barrier
    /// and workgroup-memory stage (unless `pipeline::tiled_convolutions` says
    /// otherwise, as the tests of the tiled path do).
    pub(super) fn choose(g: &Geom, adapter: &Adapter) -> ConvTiles {
        let mut t = ConvTiles::of(g);
        if !crate::gpu::pipeline::tiled_convolutions(adapter.cpu) {
            t.direct = true;
            t.workgroups =
                t.invocations()
                    .div_ceil(crate::gpu::pipeline::WORKGROUP_SIZE as usize) as u64;
        }
        t
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
        vec![
            ("POINTWISE", f64::from(u8::from(self.pointwise))),
            ("TQ", self.tq as f64),
        ]
    }
}

/// Whether a kernel may run without runtime checks: for each buffer it binds,
/// (elements it holds, elements the geometry indexes), every index fits in u32
/// (the kernels' index type) and no buffer is indexed past its end. The
/// lowerings compute the second number from the same geometry the uniforms
/// carry, so a mismatch between a tensor and its node's geometry falls back to
/// checked modules.
pub(super) fn in_bounds(buffers: &[(usize, usize)]) -> bool {
    buffers
        .iter()
        .all(|&(held, needed)| needed <= held && u32::try_from(held).is_ok())
}

/// Horizontally neighbouring output pixels of one depthwise invocation
/// (`PIXELS` in shaders/depthwise_conv2d.wgsl).
pub(super) const DEPTHWISE_PIXELS: usize = 4;

/// Invocations of a depthwise convolution: one per channel and block of
/// [`DEPTHWISE_PIXELS`] pixels of an output row.
pub(super) fn depthwise_invocations(g: &Geom) -> usize {
    g.n * g.oh * g.ow.div_ceil(DEPTHWISE_PIXELS) * g.oc
}

/// Rows of one tiled matmul workgroup (`TILE_M` in shaders/matmul.wgsl).
pub(super) const MATMUL_TILE_M: usize = 32;
/// Column quads of one tiled matmul workgroup (`TILE_Q`).
pub(super) const MATMUL_TILE_Q: usize = 8;
/// K slices of a split-K workgroup (`SLICES`); its column quads are 64 / SLICES.
const SPLIT_SLICES: usize = 16;
/// Tiled workgroups below which a matmul with a long K is split along K: fewer
/// leave most of a GPU's compute units idle.
const SPLIT_BELOW: usize = 64;
/// Shortest K worth splitting: 16 slices of at least 4 steps.
const SPLIT_MIN_K: usize = 64;
/// Workgroup memory of the split-K variant: 64 vec4 partial sums.
const SPLIT_STORAGE: u32 = 64 * 16;

/// How one FULLY_CONNECTED or BATCH_MATMUL node runs on shaders/matmul.wgsl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MatmulTiles {
    /// The rows variant (one workgroup per row and 64 / slices column quads)
    /// instead of the tiled GEMM, for products of a few rows.
    pub(super) rows: bool,
    /// K slices per row of the rows variant: 1, or 16 (split K, partial sums
    /// reduced in workgroup memory) when the output is too small to fill a GPU.
    pub(super) slices: usize,
    /// Workgroups to launch.
    pub(super) workgroups: u64,
}

impl MatmulTiles {
    /// The variant and dispatch size of `batches` products of [m, k] x [k, n]
    /// on `adapter`.
    pub(super) fn of(
        batches: usize,
        m: usize,
        n: usize,
        k: usize,
        adapter: &Adapter,
    ) -> MatmulTiles {
        let nq = n.div_ceil(4);
        let tiled = batches * m.div_ceil(MATMUL_TILE_M) * nq.div_ceil(MATMUL_TILE_Q);
        // A few rows leave most of a 32-row tile idle: one row per workgroup.
        let rows = m < MATMUL_TILE_M / 2;
        // Splitting K pays when the row workgroups are too few to fill a GPU; a
        // CPU adapter runs the few workgroups on its threads anyway and pays
        // for the reduction's barriers.
        let split = rows
            && !adapter.cpu
            && adapter.workgroup_storage >= SPLIT_STORAGE
            && tiled < SPLIT_BELOW
            && k >= SPLIT_MIN_K;
        let slices = if split { SPLIT_SLICES } else { 1 };
        let workgroups = if rows {
            batches * m * nq.div_ceil(64 / slices)
        } else {
            tiled
        };
        MatmulTiles {
            rows,
            slices,
            workgroups: workgroups as u64,
        }
    }

    /// The override constants of the variant.
    pub(super) fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("SPLIT_K", f64::from(u8::from(self.rows))),
            ("SLICES", self.slices as f64),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::Activation;

    fn geom(n: usize, hw: usize, ic: usize, oc: usize, k: usize, s: usize, pad: usize) -> Geom {
        let o = (hw + 2 * pad - k) / s + 1;
        Geom {
            kind: super::super::conv::Kind::Conv,
            n,
            ih: hw,
            iw: hw,
            ic,
            oh: o,
            ow: o,
            oc,
            kh: k,
            kw: k,
            fic: ic,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pt: pad,
            pl: pad,
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
        assert_eq!(t.tq, 2);
        assert_eq!(t.workgroups, 5);
        // A wide layer on a small image: 160 quads x 16 pixels.
        let wide = ConvTiles::of(&geom(1, 4, 64, 640, 1, 1, 0));
        assert_eq!(wide.tq, 16);
        assert_eq!(wide.workgroups, 10);
        // Two quads over 64 x 64 pixels: tall tiles, no padded quads.
        let narrow = ConvTiles::of(&geom(1, 64, 8, 8, 3, 1, 1));
        assert_eq!(narrow.tq, 2);
        assert_eq!(narrow.workgroups, 4096 / 128);
        let p = ConvTiles::of(&geom(1, 5, 8, 4, 1, 1, 0));
        assert!(p.pointwise);
        assert_eq!(p.workgroups, 1);
        assert!(!ConvTiles::of(&geom(1, 5, 8, 4, 1, 2, 0)).pointwise);
    }

    #[test]
    fn a_classifier_row_splits_k_and_a_large_product_tiles() {
        let gpu = Adapter {
            cpu: false,
            workgroup_storage: 16384,
        };
        let fc = MatmulTiles::of(1, 1, 1001, 1280, &gpu);
        assert!(fc.rows);
        assert_eq!(fc.slices, 16);
        assert_eq!(fc.workgroups, 63);
        let big = MatmulTiles::of(2, 100, 70, 300, &gpu);
        assert!(!big.rows);
        assert_eq!(big.workgroups, 2 * 4 * 3);
        // A short K is not worth splitting, nor is any K on a CPU adapter.
        let short = MatmulTiles::of(1, 1, 10, 8, &gpu);
        assert_eq!((short.rows, short.slices), (true, 1));
        let cpu = Adapter { cpu: true, ..gpu };
        let fc = MatmulTiles::of(1, 1, 1001, 1280, &cpu);
        assert_eq!((fc.rows, fc.slices), (true, 1));
        assert_eq!(fc.workgroups, 4);
    }
}
