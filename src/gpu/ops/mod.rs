//! GPU lowerings: for each op family, a support check that says why not, and a
//! lowering that records dispatches into a [`ProgramBuilder`].

mod conv;
mod elementwise;
mod gather;
mod layout;
mod logic;
mod matmul;
mod normalize;
mod pool;
mod qconv;
mod qelementwise;
mod qmatmul;
mod qpool;
mod qresize;
mod qsoftmax;
pub mod quant;
mod qunary;
mod reduce;
mod resize;

use super::program::{BufId, DispatchSpec, Elem, ProgramBuilder};
use crate::error::{Error, Result};
use crate::graph::eval::NodeEval;
use crate::graph::op::Unary;
use crate::graph::{DType, Node, Op, Subgraph, TensorInfo};
use std::collections::HashMap;

/// Largest tensor rank the kernels index.
pub const MAX_RANK: usize = 6;

/// What a support check may look at besides the node.
pub struct Caps {
    /// Largest storage buffer binding in bytes.
    pub max_binding_bytes: u64,
    /// Evaluates single nodes at prepare (integer lookup tables).
    pub eval: &'static dyn NodeEval,
}

/// Why a node stays on the CPU (Ok: the GPU takes it).
///
/// Programs are planned for the tensors' static shapes; dimensions the shape
/// signature marks dynamic are planned at their stored size, and an invoke whose
/// inputs have other shapes runs that partition on the CPU instead.
pub fn support(node: &Node, sg: &Subgraph, caps: &Caps) -> Result<(), String> {
    for t in node.inputs.iter().flatten().chain(&node.outputs) {
        let info = &sg.tensors[*t];
        if info.shape.len() > MAX_RANK {
            return Err(format!(
                "tensor {} has rank {} > {MAX_RANK}",
                info.name,
                info.shape.len()
            ));
        }
        let bytes = (info.num_elements() * 4) as u64;
        if bytes > caps.max_binding_bytes {
            return Err(format!(
                "tensor {} ({bytes} bytes) exceeds the storage binding limit",
                info.name
            ));
        }
    }
    if quant::is_quantized(node, sg) {
        return quant::support(node, sg, caps.eval);
    }
    match &node.op {
        Op::Unary(Unary::LogicalNot) => logic::support(node, sg),
        Op::Binary(b, _) if b.is_comparison() => logic::support(node, sg),
        Op::Select | Op::SelectV2 | Op::Cast => logic::support(node, sg),
        Op::ArgMax { .. } | Op::ArgMin { .. } => reduce::support(node, sg),
        Op::Unary(u) => elementwise::support_unary(node, sg, *u),
        Op::Binary(b, _) => elementwise::support_binary(node, sg, *b),
        Op::Prelu => elementwise::support_prelu(node, sg),
        Op::Conv2D(_)
        | Op::DepthwiseConv2D(_)
        | Op::TransposeConv(_)
        | Op::TransposeConvBias(_) => conv::support(node, sg),
        Op::FullyConnected(_) if conv::has_int8_weights(node, sg) => conv::support(node, sg),
        Op::FullyConnected(_) | Op::BatchMatMul { .. } => matmul::support(node, sg),
        Op::AveragePool2D(_) | Op::MaxPool2D(_) => pool::support(node, sg),
        Op::Reduce { .. } | Op::Cumsum { .. } => reduce::support(node, sg),
        Op::Softmax { .. } | Op::LogSoftmax | Op::L2Normalization(_) => {
            normalize::support(node, sg)
        }
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => resize::support(node, sg),
        op if layout::is_layout(op) => layout::support(node, sg),
        Op::Gather { .. } => gather::support(node, sg),
        op => Err(format!("{} has no GPU kernel", op.name())),
    }
}

/// Record the dispatches of one node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    if quant::is_quantized(ctx.node, ctx.sg) {
        return quant::lower(ctx);
    }
    match &ctx.node.op {
        Op::Unary(Unary::LogicalNot) => logic::lower(ctx),
        Op::Binary(b, _) if b.is_comparison() => logic::lower(ctx),
        Op::Select | Op::SelectV2 | Op::Cast => logic::lower(ctx),
        Op::ArgMax { .. } | Op::ArgMin { .. } => reduce::lower(ctx),
        Op::Unary(u) => elementwise::lower_unary(ctx, *u),
        Op::Binary(b, act) => elementwise::lower_binary(ctx, *b, *act),
        Op::Prelu => elementwise::lower_prelu(ctx),
        Op::Conv2D(_)
        | Op::DepthwiseConv2D(_)
        | Op::TransposeConv(_)
        | Op::TransposeConvBias(_) => conv::lower(ctx),
        Op::FullyConnected(_) if conv::has_int8_weights(ctx.node, ctx.sg) => conv::lower(ctx),
        Op::FullyConnected(_) | Op::BatchMatMul { .. } => matmul::lower(ctx),
        Op::AveragePool2D(_) | Op::MaxPool2D(_) => pool::lower(ctx),
        Op::Reduce { .. } | Op::Cumsum { .. } => reduce::lower(ctx),
        Op::Softmax { .. } | Op::LogSoftmax | Op::L2Normalization(_) => normalize::lower(ctx),
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => resize::lower(ctx),
        op if layout::is_layout(op) => layout::lower(ctx),
        Op::Gather { .. } => gather::lower(ctx),
        op => Err(ctx.err(format!("{} has no GPU kernel", op.name()))),
    }
}

/// Ok when every non-constant input and every output is float32 (constants of any
/// type are parameters the lowering reads, such as axes and shapes).
pub fn float_io(node: &Node, sg: &Subgraph) -> Result<(), String> {
    for t in node.inputs.iter().flatten().chain(&node.outputs) {
        let info = &sg.tensors[*t];
        if info.dtype != DType::F32 && !info.is_constant() {
            return Err(format!(
                "tensor {} is {}, the GPU path runs float32 tensors",
                info.name, info.dtype
            ));
        }
    }
    Ok(())
}

/// Ok when tensor `t` has a GPU storage (float32, int32, int64 that fits int32
/// when constant, bool) and is not quantized.
pub fn gpu_typed(sg: &Subgraph, t: usize) -> Result<(), String> {
    let info = &sg.tensors[t];
    if Elem::of(info.dtype).is_none() || quant::is_quant_dtype(info.dtype) {
        return Err(format!(
            "tensor {} is {}, the GPU path holds float32, int32, int64 and bool",
            info.name, info.dtype
        ));
    }
    if info.quantization.is_some() && info.dtype != DType::F32 {
        return Err(format!("tensor {} is quantized", info.name));
    }
    if info.dtype == DType::I64 && info.is_constant() {
        if let Some(v) = const_ints(info)?
            .into_iter()
            .find(|v| i32::try_from(*v).is_err())
        {
            return Err(format!(
                "int64 constant {} holds {v}, outside the int32 range the GPU stores",
                info.name
            ));
        }
    }
    Ok(())
}

/// Integer values of a constant int32/int64 tensor (shapes, axes, indices).
pub fn const_ints(info: &TensorInfo) -> Result<Vec<i64>, String> {
    let d = info.data.as_ref().ok_or_else(|| {
        format!(
            "tensor {} is computed at runtime, the GPU path needs a constant",
            info.name
        )
    })?;
    Ok(match info.dtype {
        DType::I32 => d
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
            .collect(),
        DType::I64 => d
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                i64::from_le_bytes(a)
            })
            .collect(),
        other => {
            return Err(format!(
                "tensor {} is {other}, expected int32/int64",
                info.name
            ))
        }
    })
}

/// The lowering context of one node.
pub struct LowerCtx<'a> {
    /// The program being built.
    pub b: &'a mut ProgramBuilder,
    /// The subgraph.
    pub sg: &'a Subgraph,
    /// Index of the node.
    pub index: usize,
    /// The node.
    pub node: &'a Node,
    /// Buffers of tensors already on the GPU.
    pub bufs: &'a mut HashMap<usize, BufId>,
    /// A residual ADD fused into this node (CONV_2D only).
    pub residual: Option<Residual>,
    /// Evaluates single nodes at prepare (integer lookup tables).
    pub eval: &'a dyn NodeEval,
}

/// An ADD folded into the convolution that produces one of its operands: the
/// convolution adds `tensor` before its clamp, clamps with the ADD's activation and
/// also stands for the ADD's output `output`.
#[derive(Debug, Clone, Copy)]
pub struct Residual {
    /// The other operand of the ADD.
    pub tensor: usize,
    /// The ADD's fused activation.
    pub activation: crate::graph::op::Activation,
    /// The ADD's output tensor.
    pub output: usize,
}

impl LowerCtx<'_> {
    /// An error naming this node.
    pub fn err(&self, what: impl Into<String>) -> Error {
        Error::node(self.index, self.node.op.name(), what)
    }

    /// Metadata of input `i`.
    pub fn in_info(&self, i: usize) -> Result<&TensorInfo> {
        self.node
            .input(i)
            .map(|t| &self.sg.tensors[t])
            .ok_or_else(|| self.err(format!("missing input {i}")))
    }

    /// Metadata of output `i`.
    pub fn out_info(&self, i: usize) -> Result<&TensorInfo> {
        self.node
            .outputs
            .get(i)
            .map(|&t| &self.sg.tensors[t])
            .ok_or_else(|| self.err(format!("missing output {i}")))
    }

    /// Whether optional input `i` is present.
    pub fn has_input(&self, i: usize) -> bool {
        self.node.input(i).is_some()
    }

    /// Float values of a constant input.
    pub fn const_f32(&self, i: usize) -> Result<Vec<f32>> {
        let info = self.in_info(i)?;
        match (&info.data, info.dtype) {
            (Some(d), DType::F32) => Ok(d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()),
            _ => Err(self.err(format!("input {i} is not a float32 constant"))),
        }
    }

    /// Integer values of a constant input (shapes, axes, permutations).
    pub fn const_ints(&self, i: usize) -> Result<Vec<i64>> {
        const_ints(self.in_info(i)?).map_err(|e| self.err(format!("input {i}: {e}")))
    }

    /// The buffer of input `i`: its producer's, or a constant uploaded once.
    pub fn input(&mut self, i: usize) -> Result<BufId> {
        let t = self
            .node
            .input(i)
            .ok_or_else(|| self.err(format!("missing input {i}")))?;
        if let Some(&b) = self.bufs.get(&t) {
            return Ok(b);
        }
        let info = &self.sg.tensors[t];
        let b = match info.dtype {
            DType::F32 => {
                let values = self.const_f32(i)?;
                self.b.constant(&values)
            }
            DType::I32 | DType::I64 => {
                let words = self
                    .const_ints(i)?
                    .into_iter()
                    .map(|v| {
                        i32::try_from(v)
                            .map(|w| w as u32)
                            .map_err(|_| self.err(format!("constant {v} does not fit int32")))
                    })
                    .collect::<Result<Vec<u32>>>()?;
                self.b.constant_words(&words, Elem::I32)
            }
            DType::I8 | DType::U8 | DType::I16 => {
                let d = info
                    .data
                    .as_ref()
                    .ok_or_else(|| self.err(format!("input {i} is not constant")))?;
                let words: Vec<u32> = match info.dtype {
                    DType::I8 => d.iter().map(|&v| v as i8 as i32 as u32).collect(),
                    DType::U8 => d.iter().map(|&v| u32::from(v)).collect(),
                    _ => d
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i32 as u32)
                        .collect(),
                };
                self.b.constant_words(&words, Elem::I32)
            }
            DType::Bool => {
                let words: Vec<u32> = info
                    .data
                    .as_ref()
                    .ok_or_else(|| self.err(format!("input {i} is not constant")))?
                    .iter()
                    .map(|&v| u32::from(v != 0))
                    .collect();
                self.b.constant_words(&words, Elem::U32)
            }
            other => return Err(self.err(format!("input {i} is {other}, not a GPU type"))),
        };
        self.bufs.insert(t, b);
        Ok(b)
    }

    /// A fresh buffer for output `i`.
    pub fn output(&mut self, i: usize) -> Result<BufId> {
        let t = *self
            .node
            .outputs
            .get(i)
            .ok_or_else(|| self.err(format!("missing output {i}")))?;
        let info = &self.sg.tensors[t];
        let elem = Elem::of(info.dtype)
            .ok_or_else(|| self.err(format!("output {i} is {}, not a GPU type", info.dtype)))?;
        let b = self.b.intermediate_of(info.num_elements(), elem);
        self.bufs.insert(t, b);
        Ok(b)
    }

    /// Make output `i` share input `j`'s storage (free reshape).
    pub fn alias_output(&mut self, i: usize, j: usize) -> Result<()> {
        let src = self.input(j)?;
        let t = *self
            .node
            .outputs
            .get(i)
            .ok_or_else(|| self.err(format!("missing output {i}")))?;
        let b = self.b.alias(src);
        self.bufs.insert(t, b);
        Ok(())
    }

    /// Record a dispatch of `shader` with an explicit workgroup size: `invocations`
    /// threads in workgroups of `workgroup_size` (the size the shader declares).
    pub fn dispatch_sized(
        &mut self,
        shader: &'static str,
        constants: Vec<(&'static str, f64)>,
        params: Vec<u32>,
        buffers: Vec<BufId>,
        invocations: u64,
        workgroup_size: u32,
    ) -> Result<()> {
        self.b.dispatch(DispatchSpec {
            shader,
            constants,
            params,
            buffers,
            invocations,
            workgroup_size,
            node: self.index,
        })
    }

    /// Record a dispatch of `shader` over `invocations` threads (workgroups of 64).
    pub fn dispatch(
        &mut self,
        shader: &'static str,
        constants: Vec<(&'static str, f64)>,
        params: Vec<u32>,
        buffers: Vec<BufId>,
        invocations: u64,
    ) -> Result<()> {
        self.b.dispatch(DispatchSpec {
            shader,
            constants,
            params,
            buffers,
            invocations,
            workgroup_size: 64,
            node: self.index,
        })
    }
}

/// Pad a shape to rank 6 (leading ones) as u32 words.
pub fn dims6(shape: &[usize]) -> [u32; MAX_RANK] {
    let mut d = [1u32; MAX_RANK];
    let off = MAX_RANK - shape.len().min(MAX_RANK);
    for (k, &s) in shape.iter().rev().take(MAX_RANK).enumerate() {
        d[MAX_RANK - 1 - k] = s as u32;
    }
    let _ = off;
    d
}

/// Row-major strides of `shape` padded to rank 6, with 0 along axes where `shape`
/// is 1 but `out` is not (broadcasting).
pub fn broadcast_strides6(shape: &[usize], out: &[usize]) -> [u32; MAX_RANK] {
    let s = crate::graph::broadcast::broadcast_strides(shape, out);
    let mut d = [0u32; MAX_RANK];
    for (k, &v) in s.iter().rev().take(MAX_RANK).enumerate() {
        d[MAX_RANK - 1 - k] = v as u32;
    }
    d
}

/// Words of a `[vec4<u32>; 2]` uniform array holding 6 dims.
pub fn vec8(d: [u32; MAX_RANK]) -> [u32; 8] {
    [d[0], d[1], d[2], d[3], d[4], d[5], 0, 0]
}
