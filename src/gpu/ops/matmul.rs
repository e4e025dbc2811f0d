//! FULLY_CONNECTED and BATCH_MATMUL (shaders/matmul.wgsl, the body shared with
//! the integer kernel, behind the float hooks of shaders/matmul_float.wgsl).
//!
//! Both become one strided batched matmul: out[bt][m][n] = sum_k A[bt][m][k] *
//! B[bt][k][n] + bias[n], with the operands addressed through element strides (so
//! adjoints and FC's [out, in] weights need no copy) and per-operand batch strides
//! that are 0 along broadcast dimensions.

use super::quant::is_quantized;
use super::tiling::{in_bounds, Adapter, MatmulTiles};
use super::{float_io, LowerCtx};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Activation;
use crate::graph::{Node, Op, Subgraph, TensorInfo};

uniforms! {
    /// `Params` of shaders/matmul_float.wgsl (batch dims and strides padded to 4).
    struct MatMulParams {
        total: u32,
        m: u32,
        n: u32,
        k: u32,
        a_sm: u32,
        a_sk: u32,
        b_sk: u32,
        b_sn: u32,
        nq: u32,
        act_min: f32,
        act_max: f32,
        _pad: u32,
        batch: [u32; 4],
        a_bs: [u32; 4],
        b_bs: [u32; 4],
    }
}

/// shaders/matmul.wgsl: the matmul body shared by the float and integer kernels,
/// behind a variant's hooks.
pub(super) const MATMUL_WGSL: &str = include_str!("../../../shaders/matmul.wgsl");

/// shaders/matmul_main.wgsl: the entry point of the matmul body that reduces
/// split K in workgroup memory.
pub(super) const MATMUL_MAIN_WGSL: &str = include_str!("../../../shaders/matmul_main.wgsl");

/// shaders/matmul_main_subgroup.wgsl: the entry point of the matmul body that
/// reduces split K with subgroup operations (SUBGROUP devices).
pub(super) const MATMUL_MAIN_SUBGROUP_WGSL: &str =
    include_str!("../../../shaders/matmul_main_subgroup.wgsl");

static MATMUL: Shader = Shader {
    name: "matmul",
    parts: &[
        include_str!("../../../shaders/matmul_float.wgsl"),
        MATMUL_WGSL,
        MATMUL_MAIN_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: MatMulParams::LAYOUT,
};

static MATMUL_SUBGROUP: Shader = Shader {
    name: "matmul_subgroup",
    parts: &[
        include_str!("../../../shaders/matmul_float.wgsl"),
        MATMUL_WGSL,
        MATMUL_MAIN_SUBGROUP_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: MatMulParams::LAYOUT,
};

/// Batch dims the shader indexes (rank 6 minus the two matrix dims).
pub(super) const BATCH_RANK: usize = 4;

/// A checked matmul problem.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) m: usize,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) a_sm: usize,
    pub(super) a_sk: usize,
    pub(super) b_sk: usize,
    pub(super) b_sn: usize,
    /// Output batch dims, padded to BATCH_RANK with leading 1s.
    pub(super) batch: [usize; BATCH_RANK],
    pub(super) a_bs: [usize; BATCH_RANK],
    pub(super) b_bs: [usize; BATCH_RANK],
    pub(super) act: Activation,
    /// FULLY_CONNECTED with constant weights: upload them transposed to [in][out].
    pub(super) fc_const_weights: bool,
    pub(super) bias_idx: Option<usize>,
}

impl Plan {
    /// Elements of A the kernel may index: one past the largest offset.
    pub(super) fn a_extent(&self) -> usize {
        extent(
            &self.batch,
            &self.a_bs,
            &[(self.m, self.a_sm), (self.k, self.a_sk)],
        )
    }

    /// Elements of B the kernel may index: one past the largest offset.
    pub(super) fn b_extent(&self) -> usize {
        extent(
            &self.batch,
            &self.b_bs,
            &[(self.k, self.b_sk), (self.n, self.b_sn)],
        )
    }

    /// Elements of the output: batches * m * n.
    pub(super) fn out_len(&self) -> usize {
        self.batch.iter().product::<usize>() * self.m * self.n
    }
}

/// One past the largest offset sum_d (batch_d - 1) * bs_d + sum (count - 1) *
/// stride; 0 when any count is 0 (nothing is indexed).
fn extent(batch: &[usize], bs: &[usize], dims: &[(usize, usize)]) -> usize {
    let counts = batch
        .iter()
        .zip(bs)
        .map(|(&c, &s)| (c, s))
        .chain(dims.iter().copied());
    let mut last = 0usize;
    for (count, stride) in counts {
        if count == 0 {
            return 0;
        }
        last = last.saturating_add((count - 1).saturating_mul(stride));
    }
    last.saturating_add(1)
}

fn tensor<'a>(node: &Node, sg: &'a Subgraph, i: usize) -> Support<&'a TensorInfo> {
    node.input(i)
        .map(|t| &sg.tensors[t])
        .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
}

fn out_tensor<'a>(node: &Node, sg: &'a Subgraph) -> Support<&'a TensorInfo> {
    node.outputs
        .first()
        .and_then(|&t| sg.tensors.get(t))
        .ok_or(Unsupported::from("missing output"))
}

/// Batch strides (in elements) of an operand with batch dims `dims` and matrices of
/// `mat` elements, aligned to the output batch dims `out` (0 where broadcast).
fn batch_strides(dims: &[usize], out: &[usize; BATCH_RANK], mat: usize) -> [usize; BATCH_RANK] {
    let mut s = [0usize; BATCH_RANK];
    let mut stride = mat;
    for (k, &d) in dims.iter().rev().enumerate() {
        let pos = BATCH_RANK - 1 - k;
        s[pos] = if d == 1 || out[pos] == 1 { 0 } else { stride };
        stride *= d;
    }
    s
}

/// Check a FULLY_CONNECTED or BATCH_MATMUL node and plan its strides.
pub(super) fn plan(node: &Node, sg: &Subgraph) -> Support<Plan> {
    let out = out_tensor(node, sg)?;
    match &node.op {
        Op::FullyConnected(p) => {
            if p.activation.range().is_none() {
                return Err(format!("fused {:?} runs on the CPU", p.activation).into());
            }
            let x = tensor(node, sg, 0)?;
            let w = tensor(node, sg, 1)?;
            let [units, inner] = match w.shape[..] {
                [a, b] => [a, b],
                _ => return Err(format!("weights must be 2-D, got {:?}", w.shape).into()),
            };
            let len = x.num_elements();
            if inner == 0 || len % inner != 0 {
                return Err(format!(
                    "input of {len} elements does not divide into rows of {inner}"
                )
                .into());
            }
            let rows = len / inner;
            if p.keep_num_dims && x.shape.last() != Some(&inner) {
                return Err(format!(
                    "keep_num_dims needs the input's last dimension to be {inner}"
                )
                .into());
            }
            if out.num_elements() != rows * units || out.shape.last() != Some(&units) {
                return Err(format!(
                    "output shape {:?} does not hold {rows} rows of {units}",
                    out.shape
                )
                .into());
            }
            let bias_idx = node.input(2).map(|_| 2);
            if let Some(b) = node.input(2).map(|t| &sg.tensors[t]) {
                if !b.is_constant() {
                    return Err(format!(
                        "bias {} is computed at run time; the GPU kernel takes a constant bias",
                        b.name
                    )
                    .into());
                }
                if b.num_elements() != units {
                    return Err(format!(
                        "bias {} has {} elements, expected {units}",
                        b.name,
                        b.num_elements()
                    )
                    .into());
                }
            }
            let fc_const_weights = w.is_constant();
            let (b_sk, b_sn) = if fc_const_weights {
                (units, 1)
            } else {
                (1, inner)
            };
            Ok(Plan {
                m: rows,
                k: inner,
                n: units,
                a_sm: inner,
                a_sk: 1,
                b_sk,
                b_sn,
                batch: [1; BATCH_RANK],
                a_bs: [0; BATCH_RANK],
                b_bs: [0; BATCH_RANK],
                act: p.activation,
                fc_const_weights,
                bias_idx,
            })
        }
        Op::BatchMatMul { adj_x, adj_y, .. } => {
            let a = tensor(node, sg, 0)?;
            let b = tensor(node, sg, 1)?;
            let (ar, br) = (a.shape.len(), b.shape.len());
            if ar < 2 || br < 2 {
                return Err("operands must have rank 2 or more".into());
            }
            let (a0, a1) = (a.shape[ar - 2], a.shape[ar - 1]);
            let (b0, b1) = (b.shape[br - 2], b.shape[br - 1]);
            let (m, k, a_sm, a_sk) = if *adj_x {
                (a1, a0, 1, a1)
            } else {
                (a0, a1, a1, 1)
            };
            let (kb, n, b_sk, b_sn) = if *adj_y {
                (b1, b0, 1, b1)
            } else {
                (b0, b1, b1, 1)
            };
            if k != kb {
                return Err(
                    format!("inner dimensions differ: {:?} x {:?}", a.shape, b.shape).into(),
                );
            }
            let abatch = &a.shape[..ar - 2];
            let bbatch = &b.shape[..br - 2];
            let r = abatch.len().max(bbatch.len());
            if r > BATCH_RANK {
                return Err(format!("more than {BATCH_RANK} batch dimensions").into());
            }
            let mut batch = [1usize; BATCH_RANK];
            for i in 0..r {
                let da = abatch.len().checked_sub(r - i).map_or(1, |j| abatch[j]);
                let db = bbatch.len().checked_sub(r - i).map_or(1, |j| bbatch[j]);
                batch[BATCH_RANK - r + i] = if da == db || db == 1 {
                    da
                } else if da == 1 {
                    db
                } else {
                    return Err(
                        format!("batch dims of {:?} and {:?} differ", a.shape, b.shape).into(),
                    );
                };
            }
            let mut want: Vec<usize> = batch[BATCH_RANK - r..].to_vec();
            want.extend([m, n]);
            if out.shape != want {
                return Err(format!(
                    "output shape {:?} differs from the computed {want:?}",
                    out.shape
                )
                .into());
            }
            Ok(Plan {
                m,
                k,
                n,
                a_sm,
                a_sk,
                b_sk,
                b_sn,
                batch,
                a_bs: batch_strides(abatch, &batch, m * k),
                b_bs: batch_strides(bbatch, &batch, k * n),
                act: Activation::None,
                fc_const_weights: false,
                bias_idx: None,
            })
        }
        op => Err(format!("{} is not a matmul", op.name()).into()),
    }
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    float_io(node, sg)?;
    plan(node, sg).map(|_| ())
}

/// Record the dispatches of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let p = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let (lo, hi) = p.act.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let nb: usize = p.batch.iter().product();
    let nq = p.n.div_ceil(4);
    let tiles = MatmulTiles::of(nb, p.m, p.n, p.k, &Adapter::of(ctx.b));
    let u = |v: usize| v as u32;
    let params = MatMulParams {
        total: u(nb),
        m: u(p.m),
        n: u(p.n),
        k: u(p.k),
        a_sm: u(p.a_sm),
        a_sk: u(p.a_sk),
        b_sk: u(p.b_sk),
        b_sn: u(p.b_sn),
        nq: u(nq),
        act_min: lo,
        act_max: hi,
        _pad: 0,
        batch: p.batch.map(u),
        a_bs: p.a_bs.map(u),
        b_bs: p.b_bs.map(u),
    };
    let a = ctx.input(0)?;
    let b = if p.fc_const_weights {
        // [out, in] -> [in, out] so that neighbouring columns are adjacent.
        let w = ctx.const_f32(1)?;
        let mut t = vec![0.0f32; w.len()];
        for o in 0..p.n {
            for i in 0..p.k {
                t[i * p.n + o] = w[o * p.k + i];
            }
        }
        ctx.b.constant(&t)
    } else {
        ctx.input(1)?
    };
    let bias = match p.bias_idx {
        Some(i) => ctx.const_f32(i)?,
        None => vec![0.0; p.n],
    };
    let bias_len = bias.len();
    let bias = ctx.b.constant_f32(&bias);
    let out = ctx.output(0)?;
    let b_len = match p.fc_const_weights {
        true => p.k * p.n,
        false => ctx.in_info(1)?.num_elements(),
    };
    let trusted = in_bounds(&[
        (ctx.in_info(0)?.num_elements(), p.a_extent()),
        (b_len, p.b_extent()),
        (bias_len, p.n),
        (ctx.out_info(0)?.num_elements(), p.out_len()),
    ]);
    let shader = if tiles.subgroup {
        &MATMUL_SUBGROUP
    } else {
        &MATMUL
    };
    ctx.dispatch_groups_trusted(
        shader,
        tiles.constants(),
        params,
        vec![a, b, bias, out],
        tiles.workgroups,
        trusted,
    )
}

gpu_op! {
    /// FULLY_CONNECTED with float weights and BATCH_MATMUL on float data.
    MatMul "matmul" {
        claims: |node, sg| {
            let ours = match node.op {
                Op::FullyConnected(_) => !super::quant::has_int8_weights(node, sg),
                Op::BatchMatMul { .. } => true,
                _ => false,
            };
            ours && !is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &MATMUL,
            &MATMUL_SUBGROUP,
        ],
    }
}
