//! Fused epilogues: element-wise steps a producer applies to its result before
//! storing it (shaders/epilogue.wgsl), and an explicit zero PAD its input read
//! absorbs. The delegate's fusion pass decides what a node absorbs
//! (`delegate::fuse`); this file holds the description the lowering reads and the
//! uniforms it becomes.

use super::{BufId, LowerCtx};
use crate::error::Result;
use crate::graph::op::Activation;

/// shaders/epilogue.wgsl: the fused steps, put in front of kernels whose
/// `epilogue` hook applies them.
pub(super) const EPILOGUE_WGSL: &str = include_str!("../../../shaders/epilogue.wgsl");

/// Most element-wise steps one epilogue applies.
pub const MAX_STEPS: usize = 2;

selectors! {
    /// What a fused step computes from the value `v` and its operand `r`.
    enum StepCode in STEP_CODES {
        Add = 1 => "EP_OP_ADD",
        Sub = 2 => "EP_OP_SUB",
        RSub = 3 => "EP_OP_RSUB",
        Mul = 4 => "EP_OP_MUL",
        Prelu = 5 => "EP_OP_PRELU",
        Logistic = 6 => "EP_OP_LOGISTIC",
        Tanh = 7 => "EP_OP_TANH",
        HardSwish = 8 => "EP_OP_HARD_SWISH",
        Elu = 9 => "EP_OP_ELU",
    }
}

selectors! {
    /// How a step's operand is indexed.
    enum KindCode in KIND_CODES {
        Same = 0 => "EP_KIND_SAME",
        Channel = 1 => "EP_KIND_CHANNEL",
        Scalar = 2 => "EP_KIND_SCALAR",
        Source = 3 => "EP_KIND_SOURCE",
        None = 4 => "EP_KIND_NONE",
    }
}

/// The selectors of shaders/epilogue.wgsl (step ops, then operand kinds).
pub(super) const SELECTORS: &[(&str, u32)] = &[
    STEP_CODES[0],
    STEP_CODES[1],
    STEP_CODES[2],
    STEP_CODES[3],
    STEP_CODES[4],
    STEP_CODES[5],
    STEP_CODES[6],
    STEP_CODES[7],
    STEP_CODES[8],
    KIND_CODES[0],
    KIND_CODES[1],
    KIND_CODES[2],
    KIND_CODES[3],
    KIND_CODES[4],
];

/// The element-wise function of a fused step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOp {
    /// `v + r`.
    Add,
    /// `v - r` (the producer's result is the minuend).
    Sub,
    /// `r - v` (the producer's result is the subtrahend).
    RSub,
    /// `v * r`.
    Mul,
    /// `v >= 0 ? v : r * v` (PRELU with `r` the slope).
    Prelu,
    /// LOGISTIC of `v` (no operand).
    Logistic,
    /// TANH of `v` (no operand).
    Tanh,
    /// HARD_SWISH of `v` (no operand).
    HardSwish,
    /// ELU of `v` (no operand).
    Elu,
}

/// The operand of a fused step: a tensor and how it maps onto the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// None: a unary step.
    None,
    /// A tensor of the output's shape, read at the same element.
    Same(usize),
    /// A tensor of one value per output channel (innermost axis).
    Channel(usize),
    /// A one-element tensor.
    Scalar(usize),
    /// An NHWC tensor read with index math: channels at or past its own count are
    /// zeros (a channel PAD), and with `pool` each value is the maximum of a 2x2
    /// stride-2 window (a MAX_POOL_2D) of it.
    Source {
        /// The tensor read.
        tensor: usize,
        /// Whether a 2x2 stride-2 max pool is applied to it.
        pool: bool,
    },
}

impl Operand {
    /// The tensor this operand reads (none for a unary step).
    pub fn tensor(&self) -> Option<usize> {
        match *self {
            Operand::None => None,
            Operand::Same(t) | Operand::Channel(t) | Operand::Scalar(t) => Some(t),
            Operand::Source { tensor, .. } => Some(tensor),
        }
    }
}

/// One fused element-wise step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The function.
    pub op: StepOp,
    /// Its second operand.
    pub operand: Operand,
    /// The clamp after it (the absorbed op's fused activation).
    pub activation: Activation,
    /// The node it does (its stores flag this node's overflow bit).
    pub node: usize,
}

/// A zero PAD of the spatial axes absorbed into a convolution's input read: the
/// convolution reads `tensor` (the PAD's input) with `top`/`left` more padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPad {
    /// The PAD's input tensor.
    pub tensor: usize,
    /// Rows added at the top.
    pub top: usize,
    /// Columns added at the left.
    pub left: usize,
}

/// What a node absorbs from the nodes fused into it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fused {
    /// A zero spatial PAD in front of its data input.
    pub input_pad: Option<InputPad>,
    /// Element-wise steps after its own activation, in order.
    pub steps: Vec<Step>,
    /// The tensor the fused chain produces (the last absorbed op's output); the
    /// node's output buffer stands for it.
    pub output: Option<usize>,
    /// DEPTHWISE_CONV_2D only: the 1x1 CONV_2D node reading its output, computed
    /// in the same dispatch (`dw_pointwise`); the steps then follow that node.
    pub pointwise: Option<usize>,
    /// CONCATENATION only: no input is needed outside the partition, so its
    /// producers may write straight into their slices of the output.
    pub in_place: bool,
}

uniforms! {
    /// `Epilogue` in shaders/epilogue.wgsl: the producer's output dims, the source operand's dims, the clamp of each step, then the source operand's pooling window (the steps' ops and operand kinds are override constants: [`Prepared::constants`]).
    struct EpilogueParams {
        oh: u32,
        ow: u32,
        oc: u32,
        sh: u32,
        sw: u32,
        sc: u32,
        min0: f32,
        max0: f32,
        min1: f32,
        max1: f32,
        /// 2: the source operand is max-pooled over 2x2 stride-2 windows; 0 or
        /// 1: read as it is.
        pool: u32,
        _pad0: u32,
    }
}

/// The fused steps of one node, ready for its dispatch.
pub(super) struct Prepared {
    /// The uniforms (the `e` member of the kernel's `Params`).
    pub(super) params: EpilogueParams,
    /// The operand buffers bound as `e0` and `e1`.
    pub(super) buffers: [BufId; 2],
    /// The override constants of the chain's shape (`EP_*` in
    /// shaders/epilogue.wgsl): step count, each step's op and operand kind.
    /// Pooling the source operand is a uniform ([`EpilogueParams::pool`]): a
    /// branch every invocation takes alike costs next to nothing, while a
    /// pipeline of its own costs a compile.
    pub(super) constants: Vec<(&'static str, f64)>,
}

fn code(op: StepOp) -> u32 {
    (match op {
        StepOp::Add => StepCode::Add,
        StepOp::Sub => StepCode::Sub,
        StepOp::RSub => StepCode::RSub,
        StepOp::Mul => StepCode::Mul,
        StepOp::Prelu => StepCode::Prelu,
        StepOp::Logistic => StepCode::Logistic,
        StepOp::Tanh => StepCode::Tanh,
        StepOp::HardSwish => StepCode::HardSwish,
        StepOp::Elu => StepCode::Elu,
    }) as u32
}

/// The uniforms, the two operand buffers and the override constants of the fused
/// steps of the node being lowered, whose output is NHWC `[_, oh, ow, oc]`.
/// Absent operands bind `filler` (any buffer; the shader does not read it).
pub(super) fn prepare(ctx: &mut LowerCtx, out_dims: [usize; 3], filler: BufId) -> Result<Prepared> {
    let steps = ctx
        .fused
        .as_ref()
        .map_or(&[][..], |f| &f.steps[..])
        .to_vec();
    if steps.len() > MAX_STEPS {
        return Err(ctx.err(format!(
            "{} fused steps, more than the {MAX_STEPS} an epilogue applies",
            steps.len()
        )));
    }
    let u = |v: usize| v as u32;
    let mut e = EpilogueParams {
        oh: u(out_dims[0]),
        ow: u(out_dims[1]),
        oc: u(out_dims[2]),
        ..Default::default()
    };
    let mut bufs = [filler; 2];
    let mut codes = [(0u32, 0u32); MAX_STEPS];
    for (k, s) in steps.iter().enumerate() {
        if let Some(t) = s.operand.tensor() {
            bufs[k] = operand_buffer(ctx, t)?;
        }
        let kind = match s.operand {
            Operand::None => KindCode::None,
            Operand::Same(_) => KindCode::Same,
            Operand::Channel(_) => KindCode::Channel,
            Operand::Scalar(_) => KindCode::Scalar,
            Operand::Source { tensor: t, pool } => {
                if k != 0 {
                    return Err(ctx.err("a source operand must be the first fused step's"));
                }
                let shape = &ctx.sg.tensors[t].shape;
                let [_, h, w, c] = shape[..] else {
                    return Err(ctx.err(format!("fused operand tensor {t} is not 4-D: {shape:?}")));
                };
                e.sh = u(h);
                e.sw = u(w);
                e.sc = u(c);
                e.pool = if pool { 2 } else { 1 };
                KindCode::Source
            }
        } as u32;
        let (lo, hi) = s
            .activation
            .range()
            .ok_or_else(|| ctx.err(format!("fused {:?} has no clamp", s.activation)))?;
        codes[k] = (code(s.op), kind);
        if k == 0 {
            (e.min0, e.max0) = (lo, hi);
        } else {
            (e.min1, e.max1) = (lo, hi);
        }
    }
    let f = |v: u32| f64::from(v);
    let constants = vec![
        ("EP_STEPS", steps.len() as f64),
        ("EP_OP0", f(codes[0].0)),
        ("EP_KIND0", f(codes[0].1)),
        ("EP_OP1", f(codes[1].0)),
        ("EP_KIND1", f(codes[1].1)),
    ];
    Ok(Prepared {
        params: e,
        buffers: bufs,
        constants,
    })
}

/// The buffer of a fused operand: already on the GPU, or a constant uploaded once.
fn operand_buffer(ctx: &mut LowerCtx, t: usize) -> Result<BufId> {
    if let Some(&b) = ctx.bufs.get(&t) {
        return Ok(b);
    }
    let info = &ctx.sg.tensors[t];
    let values = match (&info.data, info.dtype) {
        (Some(d), crate::graph::DType::F32) => d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>(),
        _ => {
            return Err(ctx.err(format!(
                "fused operand {} is neither on the GPU yet nor a float32 constant",
                info.name
            )))
        }
    };
    let b = ctx.b.constant(&values);
    ctx.bufs.insert(t, b);
    Ok(b)
}

/// After the node's output buffer `out` is made: the fused chain's output tensor
/// shares it.
pub(super) fn bind_output(ctx: &mut LowerCtx, out: BufId) {
    if let Some(t) = ctx.fused.as_ref().and_then(|f| f.output) {
        ctx.bufs.insert(t, out);
    }
}

/// The nodes a dispatch of `node` (with `fused`, what it absorbs) stores values
/// for, by the member slots of the guarded store (shaders/prologue_f16.wgsl):
/// the node, the 1x1 convolution it computes too, then each epilogue step's node.
pub(crate) fn guard_members(node: usize, fused: Option<&Fused>) -> [Option<usize>; 4] {
    let mut m = [Some(node), None, None, None];
    if let Some(f) = fused {
        m[1] = f.pointwise;
        for (slot, step) in m[2..].iter_mut().zip(&f.steps) {
            *slot = Some(step.node);
        }
    }
    m
}
