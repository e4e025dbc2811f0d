//! Tile sizes and variant choice of the tiled kernels (not an op family): the
//! matmul (shaders/matmul.wgsl) and the float reductions (shaders/reduce.wgsl)
//! decide here how a node splits into workgroups, from what [`Adapter`] reads
//! of the adapter profile the program is planned for (the device's own, or one
//! given to plan for another GPU). The convolutions' tiling is the convolution
//! family's (`conv/tiling.rs`), from the same [`Adapter`].

use crate::gpu::program::ProgramBuilder;
use crate::gpu::tuning::Tuning;

/// What the cost model reads of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Adapter {
    /// A software implementation on CPU threads (lavapipe): each workgroup is a
    /// CPU task, barriers are costly, and a few hundred workgroups fill it.
    pub(super) cpu: bool,
    /// Largest workgroup memory in bytes.
    pub(super) workgroup_storage: u32,
    /// Most invocations in one workgroup.
    pub(super) invocations: u32,
    /// Kernels reduce with subgroup operations: the device has SUBGROUP and
    /// the tuning does not ask for workgroup-memory reductions.
    pub(super) subgroups: bool,
    /// Smallest subgroup size the device may run a pipeline with (0: unknown).
    pub(super) subgroup_min: u32,
    /// Largest subgroup size the device may run a pipeline with (0: unknown).
    pub(super) subgroup_max: u32,
    /// Compute units to fill (0: unknown).
    pub(super) compute_units: u32,
    /// The overrides of the program being built.
    pub(super) tuning: Tuning,
}

impl Adapter {
    /// The adapter `b` plans for: its profile (the device's own by default), within
    /// the limits of the device it compiles for, and subgroup kernels only where
    /// that device has them.
    pub(super) fn of(b: &ProgramBuilder) -> Adapter {
        let (p, gpu, tuning) = (b.profile(), b.gpu(), b.tuning());
        Adapter {
            cpu: p.software,
            workgroup_storage: p
                .workgroup_storage_bytes
                .min(gpu.limits.max_compute_workgroup_storage_size),
            invocations: p
                .max_invocations_per_workgroup
                .min(gpu.limits.max_compute_invocations_per_workgroup),
            subgroups: gpu.subgroups && !tuning.workgroup_reductions,
            subgroup_min: p.subgroup_min,
            subgroup_max: p.subgroup_max,
            compute_units: p.compute_units,
            tuning,
        }
    }

    /// Tiled matmul workgroups below which a long K is split: [`SPLIT_BELOW`],
    /// or on a GPU with more compute units, one workgroup per unit.
    fn split_below(&self) -> usize {
        if self.cpu {
            SPLIT_BELOW
        } else {
            SPLIT_BELOW.max(self.compute_units as usize)
        }
    }

    /// Whether kernels of `WORKGROUP_SIZE` invocations using `storage` bytes of
    /// workgroup memory can run here.
    fn fits(&self, storage: u32) -> bool {
        storage <= self.workgroup_storage
            && crate::gpu::pipeline::WORKGROUP_SIZE <= self.invocations
    }

    /// The subgroup size to plan subgroup kernels for: the smallest the device
    /// reports, when subgroup reductions are on and a subgroup size is known
    /// (a power of two from 4 to the workgroup size); `None` otherwise.
    fn subgroup_size(&self) -> Option<u32> {
        let s = self.subgroup_min;
        (self.subgroups
            && s.is_power_of_two()
            && (4..=crate::gpu::pipeline::WORKGROUP_SIZE).contains(&s))
        .then_some(s)
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

/// Rows of one tiled matmul workgroup (`TILE_M` in shaders/matmul.wgsl).
pub(super) const MATMUL_TILE_M: usize = 32;
/// Column quads of one tiled matmul workgroup (`TILE_Q`).
pub(super) const MATMUL_TILE_Q: usize = 8;
/// K slices of a split-K workgroup reduced in workgroup memory (`SLICES`); its
/// column quads are 64 / SLICES.
const SPLIT_SLICES: usize = 16;
/// Tiled workgroups below which a matmul with a long K is split along K: fewer
/// leave most of a GPU's compute units idle.
const SPLIT_BELOW: usize = 64;
/// Fewest K steps per slice worth splitting for.
const SPLIT_MIN_STEPS: usize = 4;
/// Workgroup memory of the split-K reduction in workgroup memory: 64 vec4
/// partial sums.
const SPLIT_STORAGE: u32 = 64 * 16;

/// How one FULLY_CONNECTED or BATCH_MATMUL node runs on shaders/matmul.wgsl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MatmulTiles {
    /// The rows variant (one workgroup per row and `quads` column quads)
    /// instead of the tiled GEMM, for products of a few rows.
    pub(super) rows: bool,
    /// K slices per row of the rows variant: 1, or more (split K) when the
    /// output is too small to fill a GPU.
    pub(super) slices: usize,
    /// Column quads per workgroup of the rows variant (`SPLIT_Q`).
    pub(super) quads: usize,
    /// Split K reduced by subgroup operations (shaders/matmul_main_subgroup.wgsl):
    /// `slices` is then the planned subgroup size (the kernel takes the size it
    /// runs with) and each subgroup sums a quad's slices with one subgroupAdd;
    /// otherwise the slices are reduced in workgroup memory.
    pub(super) subgroup: bool,
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
        let wg = crate::gpu::pipeline::WORKGROUP_SIZE as usize;
        let nq = n.div_ceil(4);
        let tiled = batches * m.div_ceil(MATMUL_TILE_M) * nq.div_ceil(MATMUL_TILE_Q);
        // A few rows leave most of a 32-row tile idle: one row per workgroup.
        let rows = m < MATMUL_TILE_M / 2;
        // Splitting K pays when the row workgroups are too few to fill a GPU; a
        // CPU adapter runs the few workgroups on its threads anyway and pays
        // for the reduction (unless `Tuning::split_k` says otherwise, as the
        // tests of the split kernels do). Subgroups of the smallest size the
        // device reports each take one quad, their lanes the slices (a slice
        // count that is the subgroup size, so one subgroupAdd sums a quad);
        // without them 16 slices share workgroup memory, when it fits (it
        // always does on a conformant device, whose minimum is 16 KiB: the
        // check keeps a smaller one on one slice).
        let split =
            rows && (!adapter.cpu || adapter.tuning.split_k) && tiled < adapter.split_below();
        let (slices, subgroup) = match adapter.subgroup_size() {
            Some(s) => (s as usize, true),
            None if adapter.fits(SPLIT_STORAGE) => (SPLIT_SLICES, false),
            None => (1, false),
        };
        let split = split && slices > 1 && k >= SPLIT_MIN_STEPS * slices;
        let (slices, subgroup) = if split {
            (slices, subgroup)
        } else {
            (1, false)
        };
        let quads = wg / slices;
        let workgroups = if rows {
            batches * m * nq.div_ceil(quads)
        } else {
            tiled
        };
        MatmulTiles {
            rows,
            slices,
            quads,
            subgroup,
            workgroups: workgroups as u64,
        }
    }

    /// The override constants of the variant.
    pub(super) fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("SPLIT_K", f64::from(u8::from(self.rows))),
            ("SLICES", self.slices as f64),
            ("SPLIT_Q", self.quads as f64),
        ]
    }
}

/// How shaders/reduce.wgsl reduces a node's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReduceKernel {
    /// One invocation per output folds its whole row.
    PerInvocation,
    /// One workgroup per output, combined by a workgroup-memory tree.
    Workgroup,
    /// One workgroup per output, combined by subgroup operations.
    Subgroup,
}

/// Rows up to which one invocation per output is cheaper than a workgroup
/// (2 elements per invocation of a 64-wide workgroup, before its reduction).
const REDUCE_SHORT_ROW: usize = 128;
/// Outputs from which a CPU adapter folds whole rows per invocation: a
/// workgroup's invocations are SIMD lanes there, so neighbouring outputs
/// vectorize as well as a row's slices do, without barriers, once there are
/// enough workgroups for the CPU's threads.
const REDUCE_CPU_OUTPUTS: usize = 1024;
/// Outputs from which a GPU folds whole rows per invocation when neighbouring
/// outputs are neighbouring elements (coalesced loads): enough invocations to
/// fill a large GPU.
const REDUCE_GPU_OUTPUTS: usize = 1 << 16;

/// Fewest elements each invocation of a row's part folds on a GPU.
const REDUCE_PART_STEPS: usize = 32;
/// Fewest elements each invocation of a row's part folds on a CPU adapter,
/// whose extra dispatch and workgroup tasks cost more: on lavapipe over 2
/// threads, 48 parts of a 100,000-element mean took 0.3 ms against 0.2 ms
/// unsplit.
const REDUCE_PART_STEPS_CPU: usize = 128;
/// Most parts a row splits into (the second dispatch folds them per invocation).
pub(super) const REDUCE_MAX_PARTS: usize = 64;

impl ReduceKernel {
    /// The kernel for `n` outputs, each reducing `r` elements `inner` apart, on
    /// `adapter`: one invocation per output when there are at least a
    /// workgroup's worth of outputs and rows are short (or, on CPU adapters,
    /// outputs are many; on GPUs, many and contiguous); otherwise one workgroup
    /// per output, with subgroup operations when the adapter has them.
    pub(super) fn choose(n: usize, r: usize, inner: usize, adapter: &Adapter) -> ReduceKernel {
        let wg = crate::gpu::pipeline::WORKGROUP_SIZE as usize;
        let many = if adapter.cpu {
            n >= REDUCE_CPU_OUTPUTS
        } else {
            n >= REDUCE_GPU_OUTPUTS && inner > 1
        };
        if n >= wg && (r <= REDUCE_SHORT_ROW || many) {
            ReduceKernel::PerInvocation
        } else if adapter.subgroup_size().is_some() {
            ReduceKernel::Subgroup
        } else {
            ReduceKernel::Workgroup
        }
    }

    /// Parts a row splits into for the workgroup kernels: 1, or from 2 to
    /// [`REDUCE_MAX_PARTS`] when `n` rows of `r` elements are too few
    /// workgroups to fill the adapter (1024 on GPUs, or 8 per compute unit on
    /// one with more than 128 of them; 8 CPU tasks on CPU adapters) and long enough that each invocation of a part still folds
    /// [`REDUCE_PART_STEPS`] elements ([`REDUCE_PART_STEPS_CPU`] on CPU
    /// adapters). Each part's workgroup writes an f32 partial result, and a
    /// second dispatch folds each row's parts.
    pub(super) fn parts(self, n: usize, r: usize, adapter: &Adapter) -> usize {
        if self == ReduceKernel::PerInvocation || n == 0 {
            return 1;
        }
        let wg = crate::gpu::pipeline::WORKGROUP_SIZE as usize;
        let (fill, steps) = if adapter.cpu {
            (8, REDUCE_PART_STEPS_CPU)
        } else {
            (
                (1024).max(8 * adapter.compute_units as usize),
                REDUCE_PART_STEPS,
            )
        };
        (r / (wg * steps)).min(fill / n).clamp(1, REDUCE_MAX_PARTS)
    }

    /// Workgroups to launch for `n` outputs.
    pub(super) fn workgroups(self, n: usize) -> u64 {
        match self {
            ReduceKernel::PerInvocation => {
                n.div_ceil(crate::gpu::pipeline::WORKGROUP_SIZE as usize) as u64
            }
            _ => n as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic adapters: lavapipe (CPU threads, 8-wide subgroups), GPUs with
    /// 32- and 64-wide subgroups, a GPU without SUBGROUP, and one with too
    /// little workgroup memory for the split-K tree.
    fn adapters() -> [Adapter; 5] {
        let gpu = Adapter {
            cpu: false,
            workgroup_storage: 16384,
            invocations: 256,
            subgroups: false,
            subgroup_min: 0,
            subgroup_max: 0,
            compute_units: 0,
            tuning: Tuning::UNTUNED,
        };
        let sub = |s| Adapter {
            subgroups: true,
            subgroup_min: s,
            subgroup_max: s,
            ..gpu
        };
        [
            Adapter {
                cpu: true,
                ..sub(8)
            },
            sub(32),
            sub(64),
            gpu,
            Adapter {
                workgroup_storage: 512,
                ..gpu
            },
        ]
    }

    #[test]
    fn a_classifier_row_splits_k_by_the_subgroup_size_and_a_large_product_tiles() {
        let [cpu, gpu32, gpu64, plain, small] = adapters();
        // A 1001-way classifier over 1280 inputs: 251 column quads.
        let fc = |a: &Adapter| {
            let t = MatmulTiles::of(1, 1, 1001, 1280, a);
            assert!(t.rows);
            (t.slices, t.quads, t.subgroup, t.workgroups)
        };
        // One subgroup per quad, its lanes the slices.
        assert_eq!(fc(&gpu32), (32, 2, true, 126));
        assert_eq!(fc(&gpu64), (64, 1, true, 251));
        // Without subgroups 16 slices meet in workgroup memory, when it fits.
        assert_eq!(fc(&plain), (16, 4, false, 63));
        assert_eq!(fc(&small), (1, 64, false, 4));
        // A CPU adapter does not split.
        assert_eq!(fc(&cpu), (1, 64, false, 4));
        // K too short for 4 steps per slice on 64 lanes, long enough on 32.
        let k200 = |a: &Adapter| MatmulTiles::of(1, 1, 1001, 200, a).slices;
        assert_eq!((k200(&gpu64), k200(&gpu32), k200(&plain)), (1, 32, 16));
        let short = MatmulTiles::of(1, 1, 10, 8, &gpu32);
        assert_eq!((short.rows, short.slices, short.subgroup), (true, 1, false));
        for a in adapters() {
            let big = MatmulTiles::of(2, 100, 70, 300, &a);
            assert!(!big.rows);
            assert_eq!(big.workgroups, 2 * 4 * 3);
            assert_eq!(big.constants()[0], ("SPLIT_K", 0.0));
        }
        // Few rows whose tiles already fill a GPU are not split.
        let wide = MatmulTiles::of(1, 8, 4096, 1024, &gpu32);
        assert_eq!((wide.rows, wide.slices), (true, 1));
    }

    #[test]
    fn reductions_fold_short_rows_per_invocation_and_long_rows_per_workgroup() {
        let [cpu, gpu32, gpu64, plain, _] = adapters();
        use ReduceKernel::*;
        // MobileNet's global average: 1280 outputs of 49 elements.
        for a in adapters() {
            assert_eq!(ReduceKernel::choose(1280, 49, 1280, &a), PerInvocation);
            assert_eq!(PerInvocation.workgroups(1280), 20);
        }
        // Few outputs, or long rows: a workgroup each, with subgroups when the
        // adapter has them (whatever their size).
        assert_eq!(ReduceKernel::choose(3, 7, 1, &cpu), Subgroup);
        assert_eq!(ReduceKernel::choose(1, 100_000, 1, &gpu32), Subgroup);
        assert_eq!(ReduceKernel::choose(100, 1000, 1, &gpu64), Subgroup);
        assert_eq!(ReduceKernel::choose(100, 1000, 1, &plain), Workgroup);
        assert_eq!(Subgroup.workgroups(100), 100);
        // Many outputs with long rows: per invocation on a CPU adapter; on a
        // GPU only with enough of them and neighbouring (coalesced) loads.
        assert_eq!(ReduceKernel::choose(4096, 1000, 1, &cpu), PerInvocation);
        assert_eq!(ReduceKernel::choose(4096, 1000, 1, &gpu32), Subgroup);
        assert_eq!(
            ReduceKernel::choose(1 << 16, 1000, 8, &gpu32),
            PerInvocation
        );
        assert_eq!(ReduceKernel::choose(1 << 16, 1000, 1, &gpu32), Subgroup);
    }

    #[test]
    fn long_rows_of_few_outputs_split_into_parts() {
        let [cpu, gpu32, _, plain, _] = adapters();
        let parts = |n, r, a: &Adapter| ReduceKernel::choose(n, r, 1, a).parts(n, r, a);
        // One row of 100,000: 48 parts of 2048+ elements (32 per invocation)
        // on a GPU; on a CPU adapter 8 tasks of 8192+.
        assert_eq!(parts(1, 100_000, &gpu32), 48);
        assert_eq!(parts(1, 100_000, &cpu), 8);
        assert_eq!(parts(1, 1 << 20, &plain), REDUCE_MAX_PARTS);
        // Enough rows to fill a CPU's threads, not a GPU.
        assert_eq!(parts(8, 100_000, &cpu), 1);
        assert_eq!(parts(64, 4096, &gpu32), 2);
        // Rows too short for two parts; outputs folded per invocation.
        assert_eq!(parts(3, 4095, &gpu32), 1);
        assert_eq!(parts(3, 4096, &gpu32), 2);
        assert_eq!(parts(2, 16_383, &cpu), 1);
        assert_eq!(parts(2, 16_384, &cpu), 2);
        assert_eq!(ReduceKernel::PerInvocation.parts(1280, 100_000, &gpu32), 1);
    }

    #[test]
    fn subgroup_kernels_need_a_known_subgroup_size_within_the_workgroup() {
        let [cpu, gpu32, _, plain, _] = adapters();
        assert_eq!(cpu.subgroup_size(), Some(8));
        assert_eq!(gpu32.subgroup_size(), Some(32));
        assert_eq!(plain.subgroup_size(), None);
        // Subgroup reductions switched off, an unknown size, one wider than the
        // workgroup: the workgroup-memory paths.
        let off = Adapter {
            subgroups: false,
            ..gpu32
        };
        let unknown = Adapter {
            subgroup_min: 0,
            ..gpu32
        };
        let wide = Adapter {
            subgroup_min: 128,
            subgroup_max: 128,
            ..gpu32
        };
        for a in [off, unknown, wide] {
            assert_eq!(a.subgroup_size(), None);
            assert_eq!(
                ReduceKernel::choose(1, 5000, 1, &a),
                ReduceKernel::Workgroup
            );
            assert_eq!(MatmulTiles::of(1, 1, 1001, 1280, &a).slices, 16);
        }
        // A device that reports a range plans for its smallest subgroups.
        let range = Adapter {
            subgroup_min: 32,
            subgroup_max: 64,
            ..gpu32
        };
        assert_eq!(MatmulTiles::of(1, 1, 1001, 1280, &range).quads, 2);
        let tiny = Adapter {
            invocations: 32,
            ..plain
        };
        assert_eq!(MatmulTiles::of(1, 1, 1001, 1280, &tiny).slices, 1);
    }
}
