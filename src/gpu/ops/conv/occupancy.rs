//! Convolution tiles planned for a GPU's compute units (not an op family): the
//! shape of the tiled implicit-GEMM kernel (shaders/conv2d.wgsl) for one node
//! on a GPU profile, and when a depthwise + 1x1 pair runs as one fused kernel.
//!
//! A GPU runs a dispatch fast when it is spread over every compute unit and
//! no invocation carries a long serial chain of products: a dispatch of a few
//! workgroups leaves most units idle however its tiles reuse loads. So the
//! planner takes, among the tile shapes the kernel offers (invocations per
//! workgroup, quads, pixels per invocation, K slices), first those that keep
//! every invocation within [`MAX_INVOCATION_MACS`] multiply-adds, then those
//! that launch a workgroup for every compute unit, and among those the
//! cheapest by products and loads (padding included). CPU adapters keep their
//! own plan (tiling.rs): these rules are for GPUs only. A leaf module: the
//! callers pass the numbers of the node and of the device.

/// Most multiply-adds one invocation of a GPU plan is asked for: longer serial
/// sums leave the latency of their loads exposed when invocations are few, and
/// split K or smaller register tiles give more invocations instead.
pub(super) const MAX_INVOCATION_MACS: usize = 2048;

/// K steps of one slice per stage (`KT` in shaders/conv2d.wgsl).
const KT: usize = 8;
/// Values of one input buffer of the kernel (`XS`).
const XS: usize = 1024;
/// Quads of one weight buffer (`WS`).
const WS: usize = 256;
/// Pixels one invocation loads per stage at most (`MAX_LOADS`).
const MAX_LOADS: usize = 16;
/// Workgroup memory of the tiled kernel in bytes: two input buffers of `XS`
/// 4-byte accumulators and two weight buffers of `WS` quads.
pub(super) const TILED_STORAGE: u32 = (2 * XS * 4 + 2 * WS * 16) as u32;

/// Invocations per workgroup the kernel is planned with on GPUs.
const WORKGROUP_SIZES: [usize; 3] = [64, 128, 256];
/// K slices the kernel offers (`SK`).
const SLICES: [usize; 4] = [1, 2, 4, 8];
/// Quads per tile (`TQ`).
const QUADS: [usize; 5] = [1, 2, 4, 8, 16];
/// Pixels per invocation (`RM`), most register reuse first.
const PIXELS: [usize; 3] = [4, 2, 1];

/// Relative cost of one load from memory into workgroup memory, in products.
const LOAD_COST: usize = 2;

/// Depthwise channels up to which a depthwise + 1x1 pair fuses on a GPU.
pub(super) const THIN_DEPTHWISE: usize = 32;
/// 1x1 output channels up to which a depthwise + 1x1 pair fuses on a GPU.
pub(super) const THIN_POINTWISE: usize = 32;

/// The shape of one tiled convolution dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TileShape {
    /// Invocations per workgroup (`WG`).
    pub(super) wg: usize,
    /// K slices (`SK`).
    pub(super) sk: usize,
    /// Quads of the tile (`TQ`).
    pub(super) tq: usize,
    /// Pixels per invocation (`RM`).
    pub(super) rm: usize,
}

impl TileShape {
    /// The tiles CPU adapters run (the kernel's defaults but `tq`).
    pub(super) const fn cpu(tq: usize) -> TileShape {
        TileShape {
            wg: 64,
            sk: 1,
            tq,
            rm: 4,
        }
    }

    /// Pixels of the tile (`TILE_M`).
    pub(super) fn tile_m(&self) -> usize {
        self.rm * self.wg / (self.sk * self.tq)
    }

    /// K steps per stage (`KC`).
    fn kc(&self) -> usize {
        KT * self.sk
    }

    /// Whether the kernel's buffers hold this shape: an integer number of
    /// pixel rows per slice, the stage tiles within their buffers (and at most
    /// `MAX_LOADS` input loads per invocation), and the slices' sums within
    /// the weight buffers.
    pub(super) fn valid(&self) -> bool {
        let team = self.wg / self.sk;
        team % self.tq == 0
            && team >= self.tq
            && self.kc() <= self.wg
            && self.kc() * self.tile_m() <= XS.min(MAX_LOADS * self.wg)
            && self.kc() * self.tq <= WS
            && (self.sk - 1) * team * self.rm <= 2 * WS
    }

    /// Workgroups of a node of `pixels` output pixels and `ocq` quads in each of
    /// `groups` groups.
    pub(super) fn workgroups(&self, pixels: usize, ocq: usize, groups: usize) -> usize {
        pixels.div_ceil(self.tile_m()) * ocq.div_ceil(self.tq) * groups
    }

    /// Multiply-adds of one invocation for a reduction of `k` steps (K padded to
    /// whole stages), its epilogue counted as one step.
    pub(super) fn macs_per_invocation(&self, k: usize) -> usize {
        let steps = k.div_ceil(self.kc()) * KT;
        self.rm * 4 * (steps + 1)
    }

    /// Estimated cost in products: every tile's padded products, its loads into
    /// workgroup memory, the reads of the products from it, and the split-K
    /// reduction.
    fn cost(&self, pixels: usize, ocq: usize, groups: usize, k: usize) -> usize {
        let tiles = self.workgroups(pixels, ocq, groups);
        let (tile_m, tq, rm) = (self.tile_m(), self.tq, self.rm);
        let k_padded = k.div_ceil(self.kc()) * self.kc();
        let per_k = tile_m * tq * 4 + LOAD_COST * (tile_m + 4 * tq) + (tile_m / rm) * tq * (rm + 1);
        let reduce = 8 * (self.sk - 1) * (self.wg / self.sk) * rm;
        tiles * (k_padded * per_k + reduce)
    }

    /// The override constants of the shape beyond `TQ` (none at the defaults,
    /// so CPU adapters' pipelines are the ones they always were).
    pub(super) fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut c = Vec::new();
        for (name, v, default) in [("RM", self.rm, 4), ("SK", self.sk, 1), ("WG", self.wg, 64)] {
            if v != default {
                c.push((name, v as f64));
            }
        }
        c
    }
}

/// What the tile planner reads of a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gpu {
    /// Compute units to fill with workgroups (at least 1).
    pub(super) compute_units: usize,
    /// Most invocations per workgroup.
    pub(super) invocations: usize,
}

/// The tile shape of a convolution of `pixels` output pixels, `ocq` quads per
/// group, `groups` groups and a reduction of `k` steps on `gpu`: the cheapest
/// shape that keeps each invocation within [`MAX_INVOCATION_MACS`] and
/// launches at least one workgroup per compute unit; failing that, the fewest
/// multiply-adds per invocation, then the most workgroups. None when the
/// device allows fewer invocations per workgroup than any shape has.
pub(super) fn gpu_tiles(
    pixels: usize,
    ocq: usize,
    groups: usize,
    k: usize,
    gpu: Gpu,
) -> Option<TileShape> {
    let fill = gpu.compute_units.max(1);
    let mut best: Option<((usize, usize, usize, usize), TileShape)> = None;
    for &wg in WORKGROUP_SIZES.iter().filter(|&&wg| wg <= gpu.invocations) {
        for &sk in &SLICES {
            for &tq in &QUADS {
                for &rm in &PIXELS {
                    let s = TileShape { wg, sk, tq, rm };
                    if !s.valid() {
                        continue;
                    }
                    let macs = s.macs_per_invocation(k);
                    let over = macs.saturating_sub(MAX_INVOCATION_MACS);
                    let short = fill.saturating_sub(s.workgroups(pixels, ocq, groups));
                    let key = (over, short, s.cost(pixels, ocq, groups, k), wg);
                    if best.as_ref().is_none_or(|(b, _)| key < *b) {
                        best = Some((key, s));
                    }
                }
            }
        }
    }
    best.map(|(_, s)| s)
}

/// Whether a depthwise convolution of `channels` channels and the 1x1
/// convolution of `out` output channels reading it run as one fused kernel:
/// always on CPU adapters (`cpu`: one task per workgroup, the intermediate
/// never leaves the cache); on GPUs only for thin layers, as TFLite's GPU
/// delegate fuses them. A wide pair's fused kernel sums every input channel of
/// every output channel of its few pixels in one invocation, on few
/// workgroups; apart, the depthwise kernel and the tiled 1x1 convolution (the
/// residual in its epilogue) each fill the GPU.
pub(super) fn fuse_pointwise(channels: usize, out: usize, cpu: bool) -> bool {
    cpu || (channels <= THIN_DEPTHWISE && out <= THIN_POINTWISE)
}

/// Output pixels per workgroup of the fused depthwise + 1x1 kernel: `most`
/// (what its tile and invocations allow) on CPU adapters (`gpu` None); on a
/// GPU also few enough that the `pixels` spread over a workgroup per compute
/// unit, in whole blocks of `block` pixels where one fits.
pub(super) fn fused_pixels(most: usize, pixels: usize, block: usize, gpu: Option<Gpu>) -> usize {
    let Some(gpu) = gpu else {
        return most;
    };
    let spread = pixels / gpu.compute_units.max(1);
    let tp = most.min(spread).max(1);
    if tp >= block {
        tp - tp % block
    } else {
        tp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H100: Gpu = Gpu {
        compute_units: 132,
        invocations: 1024,
    };

    fn tiles(pixels: usize, ocq: usize, k: usize) -> TileShape {
        gpu_tiles(pixels, ocq, 1, k, H100).expect("a shape")
    }

    /// Every shape the kernel offers fits its buffers, and the CPU default is
    /// one of them.
    #[test]
    fn shapes_fit_the_kernel_buffers() {
        for tq in [2, 4, 8, 16] {
            let s = TileShape::cpu(tq);
            assert!(s.valid(), "{s:?}");
            assert!(s.constants().is_empty());
            assert_eq!(s.tile_m(), 256 / tq);
        }
        let split = TileShape {
            wg: 256,
            sk: 8,
            tq: 4,
            rm: 1,
        };
        assert!(split.valid());
        assert_eq!(split.tile_m(), 8);
        assert_eq!(split.constants(), [("RM", 1.0), ("SK", 8.0), ("WG", 256.0)]);
        // A 64-quad weight stage does not fit.
        assert!(!TileShape {
            wg: 64,
            sk: 8,
            tq: 8,
            rm: 1
        }
        .valid());
    }

    /// MobileNetV2's 7x7 layers with a long K: split K, within the limit per
    /// invocation, on at least one workgroup per SM.
    #[test]
    fn small_images_with_a_long_k_split_k_and_fill_the_gpu() {
        for (k, n) in [(960, 160), (960, 320), (576, 160), (320, 1280)] {
            let s = tiles(49, n / 4, k);
            assert!(s.valid());
            assert!(
                s.macs_per_invocation(k) <= MAX_INVOCATION_MACS,
                "{k} {n}: {s:?}"
            );
            assert!(s.workgroups(49, n / 4, 1) >= 132, "{k} {n}: {s:?}");
            if k == 960 {
                assert!(s.sk > 1, "{s:?}");
            }
        }
    }

    /// Large images keep big register tiles; every heavy layer of MobileNetV2
    /// fills the GPU within the limit.
    #[test]
    fn large_images_keep_register_tiles() {
        let s = tiles(112 * 112, 24, 16);
        assert_eq!((s.rm, s.sk), (4, 1), "{s:?}");
        for (pixels, k, n) in [
            (12544, 27, 32),
            (3136, 96, 24),
            (3136, 144, 24),
            (784, 192, 32),
            (196, 384, 64),
            (196, 576, 96),
            (196, 96, 576),
        ] {
            let s = tiles(pixels, n / 4, k);
            assert!(s.macs_per_invocation(k) <= MAX_INVOCATION_MACS, "{s:?}");
            assert!(
                s.workgroups(pixels, n / 4, 1) >= 132,
                "{pixels} {k} {n}: {s:?}"
            );
        }
    }

    /// A device that allows fewer invocations per workgroup gets workgroups it
    /// can run; one that allows fewer than 64 gets none.
    #[test]
    fn workgroups_stay_within_the_device_limit() {
        let small = Gpu {
            invocations: 128,
            ..H100
        };
        for (pixels, k, n) in [(12544, 16, 96), (49, 960, 320), (4, 4096, 8)] {
            let s = gpu_tiles(pixels, n / 4, 1, k, small).expect("a shape");
            assert!(s.wg <= 128 && s.valid(), "{s:?}");
        }
        let tiny = Gpu {
            invocations: 32,
            ..H100
        };
        assert_eq!(gpu_tiles(49, 40, 1, 960, tiny), None);
    }

    /// BlazeFace's 64 x 64 blocks: 28 pixels a workgroup, 147 workgroups;
    /// MobileNetV2's first block at 112 x 112 keeps the kernel's 64.
    #[test]
    fn fused_workgroups_cover_the_compute_units() {
        assert_eq!(fused_pixels(40, 4096, 4, Some(H100)), 28);
        assert_eq!(fused_pixels(64, 12544, 4, Some(H100)), 64);
        assert_eq!(fused_pixels(40, 100, 4, Some(H100)), 1);
        assert_eq!(fused_pixels(40, 4096, 4, None), 40);
    }

    #[test]
    fn only_thin_pairs_fuse_on_gpus() {
        assert!(fuse_pointwise(32, 16, false));
        assert!(fuse_pointwise(24, 28, false));
        assert!(!fuse_pointwise(96, 24, false));
        assert!(!fuse_pointwise(32, 36, false));
        assert!(fuse_pointwise(960, 160, true));
    }
}
