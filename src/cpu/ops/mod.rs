//! CPU kernels, one file per op family, and the context every kernel receives.
//!
//! A kernel is a function `fn(&mut OpCtx, params...) -> Result<Vec<Tensor>>` that
//! reads its inputs, computes output shapes from the actual input shapes (as LiteRT's
//! Prepare does) and returns one tensor per node output.

mod complex;
mod control;
mod conv;
mod detection;
mod elementwise;
mod gather;
mod layout;
mod lstm;
mod matmul;
mod mediapipe;
mod normalize;
mod pool;
mod quantize;
mod reduce;
mod resize;

use super::run::SubgraphRunner;
use crate::error::{Error, Result};
use crate::graph::Tensor;
use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
use std::any::Any;
use std::sync::OnceLock;

/// Data a kernel prepares once per node (repacked weights, multipliers, densified
/// constants) and reuses on every invoke.
#[derive(Default)]
pub struct NodeCache(OnceLock<Box<dyn Any + Send + Sync>>);

/// Everything a kernel sees of its node.
pub struct OpCtx<'a> {
    /// Index of the node in its subgraph.
    pub node: usize,
    /// The op with its parameters.
    pub op: &'a Op,
    /// Input values; None for omitted optional inputs.
    pub inputs: Vec<Option<&'a Tensor>>,
    /// Model metadata of the inputs (dtype, quantization, constant data).
    pub input_infos: Vec<Option<&'a TensorInfo>>,
    /// Model metadata of the outputs (dtype, quantization, declared shape).
    pub output_infos: Vec<&'a TensorInfo>,
    pub(crate) cache: &'a NodeCache,
    pub(crate) runner: &'a dyn SubgraphRunner,
    pub(crate) depth: usize,
    /// New values for variable inputs, by input position (stateful ops like LSTM).
    pub variable_writes: Vec<(usize, Tensor)>,
}

impl<'a> OpCtx<'a> {
    /// The context of node `index` (`node`, a node of `sg`) given its input values
    /// (None for omitted optional inputs).
    pub fn for_node(
        sg: &'a Subgraph,
        index: usize,
        node: &'a Node,
        inputs: Vec<Option<&'a Tensor>>,
        cache: &'a NodeCache,
        runner: &'a dyn SubgraphRunner,
        depth: usize,
    ) -> OpCtx<'a> {
        OpCtx {
            node: index,
            op: &node.op,
            inputs,
            input_infos: node
                .inputs
                .iter()
                .map(|i| i.map(|t| &sg.tensors[t]))
                .collect(),
            output_infos: node.outputs.iter().map(|&t| &sg.tensors[t]).collect(),
            cache,
            runner,
            depth,
            variable_writes: Vec::new(),
        }
    }

    /// An error naming this node and op.
    pub fn err(&self, what: impl Into<String>) -> Error {
        Error::node(self.node, self.op.name(), what)
    }

    /// Input `i`, which must be present.
    pub fn input(&self, i: usize) -> Result<&'a Tensor> {
        self.inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("missing input {i}")))
    }

    /// Input `i` if present.
    pub fn opt_input(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// Number of inputs listed on the node (including omitted ones).
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Input `i` as float32 data.
    pub fn input_f32(&self, i: usize) -> Result<&'a [f32]> {
        let t = self.input(i)?;
        t.as_f32()
            .ok_or_else(|| self.err(format!("input {i} is {}, expected float32", t.dtype())))
    }

    /// Quantization of input `i`.
    pub fn in_quant(&self, i: usize) -> Option<&'a Quantization> {
        self.input_infos
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| t.quantization.as_ref())
    }

    /// Quantization of output `i`.
    pub fn out_quant(&self, i: usize) -> Option<&'a Quantization> {
        self.output_infos
            .get(i)
            .and_then(|t| t.quantization.as_ref())
    }

    /// Per-tensor (scale, zero point) of input `i`, or an error when not quantized.
    pub fn in_qparams(&self, i: usize) -> Result<(f32, i32)> {
        self.in_quant(i)
            .map(|q| (q.scale_at(0), q.zero_point_at(0) as i32))
            .ok_or_else(|| self.err(format!("input {i} has no quantization parameters")))
    }

    /// Per-tensor (scale, zero point) of output `i`, or an error when not quantized.
    pub fn out_qparams(&self, i: usize) -> Result<(f32, i32)> {
        self.out_quant(i)
            .map(|q| (q.scale_at(0), q.zero_point_at(0) as i32))
            .ok_or_else(|| self.err(format!("output {i} has no quantization parameters")))
    }

    /// Declared element type of output `i`.
    pub fn out_dtype(&self, i: usize) -> Result<DType> {
        self.output_infos
            .get(i)
            .map(|t| t.dtype)
            .ok_or_else(|| self.err(format!("missing output {i}")))
    }

    /// Number of outputs of the node.
    pub fn num_outputs(&self) -> usize {
        self.output_infos.len()
    }

    /// Normalize a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize> {
        let a = if axis < 0 { axis + rank as i64 } else { axis };
        if a < 0 || a >= rank as i64 {
            return Err(self.err(format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(a as usize)
    }

    /// The elements of an integer input (shape, axis, begin... tensors) as i64.
    pub fn ints(&self, i: usize) -> Result<Vec<i64>> {
        let t = self.input(i)?;
        match t.dtype() {
            DType::I32 | DType::I64 | DType::I16 | DType::I8 | DType::U8 | DType::U32 => {
                Ok(t.data.to_i64())
            }
            other => Err(self.err(format!("input {i} is {other}, expected an integer tensor"))),
        }
    }

    /// Check that a tensor of `shape` and `dtype` may be created under the limits.
    pub fn check_size(&self, shape: &[usize], dtype: DType) -> Result<usize> {
        let limit = self.runner.limits().max_tensor_bytes;
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| self.err(format!("output shape {shape:?} overflows")))?;
        let bytes = (n as u64).saturating_mul(dtype.size().unwrap_or(1) as u64);
        if bytes > limit {
            return Err(Error::MemoryLimit {
                what: format!(
                    "node {} ({}) output of shape {shape:?}",
                    self.node,
                    self.op.name()
                ),
                bytes,
                limit,
            });
        }
        Ok(n)
    }

    /// The node's prepared data, built by `build` on first use.
    pub fn cached<T: Any + Send + Sync>(&self, build: impl FnOnce() -> Result<T>) -> Result<&'a T> {
        let cell = &self.cache.0;
        if cell.get().is_none() {
            let v = build()?;
            let _ = cell.set(Box::new(v));
        }
        cell.get()
            .and_then(|b| b.downcast_ref::<T>())
            .ok_or_else(|| self.err("prepared data has an unexpected type"))
    }

    /// Run subgraph `s` (WHILE/IF bodies) with the given inputs.
    pub fn run_subgraph(&self, s: usize, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        self.runner.run_subgraph(s, inputs, self.depth + 1)
    }

    /// Most iterations a WHILE may run.
    pub fn max_while_iterations(&self) -> u64 {
        self.runner.limits().max_while_iterations
    }

    /// True when the run has been cancelled.
    pub fn cancelled(&self) -> bool {
        self.runner
            .limits()
            .cancel
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Error for an input dtype the kernel does not handle.
    pub fn unsupported_dtype(&self, i: usize) -> Error {
        let d = self.inputs.get(i).copied().flatten().map(|t| t.dtype());
        match d {
            Some(d) => self.err(format!("input {i} of type {d} is not supported")),
            None => self.err(format!("missing input {i}")),
        }
    }
}

/// Shape helper: product of dimensions.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Run the node's kernel and check that it produced one value per node output.
pub fn eval_node(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    // Blockwise-quantized weights are read by the hybrid FULLY_CONNECTED kernel
    // only (as in LiteRT); any other reader would take the block scales for
    // per-channel ones.
    if !matches!(ctx.op, Op::FullyConnected(_)) {
        let blockwise = ctx
            .input_infos
            .iter()
            .flatten()
            .position(|t| t.quantization.as_ref().is_some_and(|q| q.block.is_some()));
        if let Some(i) = blockwise {
            return Err(ctx.err(format!(
                "input {i} is blockwise quantized; only FULLY_CONNECTED weights may be"
            )));
        }
    }
    let outputs = eval(ctx)?;
    if outputs.len() != ctx.output_infos.len() {
        return Err(Error::node(
            ctx.node,
            ctx.op.name(),
            format!(
                "kernel error: it produced {} outputs, the node has {}",
                outputs.len(),
                ctx.output_infos.len()
            ),
        ));
    }
    Ok(outputs)
}

/// Run the kernel of `ctx.op`.
pub fn eval(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let op = ctx.op;
    match op {
        Op::Unary(u) => elementwise::unary(ctx, *u),
        Op::Binary(b, act) => elementwise::binary(ctx, *b, *act),
        Op::Select => elementwise::select(ctx, false),
        Op::SelectV2 => elementwise::select(ctx, true),
        Op::Prelu => elementwise::prelu(ctx),
        Op::AddN => elementwise::add_n(ctx),
        Op::Cast => elementwise::cast(ctx),
        Op::Conv2D(p) => conv::conv2d(ctx, p),
        Op::DepthwiseConv2D(p) => conv::depthwise_conv2d(ctx, p),
        Op::TransposeConv(p) => conv::transpose_conv(ctx, p, false),
        Op::TransposeConvBias(p) => conv::transpose_conv(ctx, p, true),
        Op::FullyConnected(p) => matmul::fully_connected(ctx, p),
        Op::BatchMatMul { adj_x, adj_y, .. } => matmul::batch_matmul(ctx, *adj_x, *adj_y),
        Op::AveragePool2D(p) => pool::average_pool(ctx, p),
        Op::MaxPool2D(p) => pool::max_pool(ctx, p),
        Op::L2Pool2D(p) => pool::l2_pool(ctx, p),
        Op::MaxPoolWithArgmax(p) => pool::max_pool_with_argmax(ctx, p),
        Op::MaxUnpooling(p) => pool::max_unpooling(ctx, p),
        Op::MediaPipe(m) => mediapipe::eval(ctx, m),
        Op::Reduce { kind, keep_dims } => reduce::reduce(ctx, *kind, *keep_dims),
        Op::ArgMax { output_type } => reduce::arg_min_max(ctx, true, *output_type),
        Op::ArgMin { output_type } => reduce::arg_min_max(ctx, false, *output_type),
        Op::Cumsum { exclusive, reverse } => reduce::cumsum(ctx, *exclusive, *reverse),
        Op::Softmax { beta } => normalize::softmax(ctx, *beta),
        Op::LogSoftmax => normalize::log_softmax(ctx),
        Op::L2Normalization(act) => normalize::l2_normalization(ctx, *act),
        Op::LocalResponseNormalization(p) => normalize::local_response_normalization(ctx, p),
        Op::Reshape { new_shape } => layout::reshape(ctx, new_shape.as_deref()),
        Op::Squeeze { axes } => layout::squeeze(ctx, axes),
        Op::ExpandDims => layout::expand_dims(ctx),
        Op::Concatenation { axis, activation } => layout::concatenation(ctx, *axis, *activation),
        Op::Split { num_splits } => layout::split(ctx, *num_splits),
        Op::SplitV { num_splits } => layout::split_v(ctx, *num_splits),
        Op::Slice => layout::slice(ctx),
        Op::StridedSlice(p) => layout::strided_slice(ctx, p),
        Op::Transpose => layout::transpose(ctx),
        Op::Tile => layout::tile(ctx),
        Op::Pack { axis } => layout::pack(ctx, *axis),
        Op::Unpack { axis, num } => layout::unpack(ctx, *axis, *num),
        Op::Pad => layout::pad(ctx, false),
        Op::PadV2 => layout::pad(ctx, true),
        Op::MirrorPad { symmetric } => layout::mirror_pad(ctx, *symmetric),
        Op::DepthToSpace { block_size } => layout::depth_to_space(ctx, *block_size),
        Op::SpaceToDepth { block_size } => layout::space_to_depth(ctx, *block_size),
        Op::BatchToSpaceNd => layout::batch_to_space_nd(ctx),
        Op::SpaceToBatchNd => layout::space_to_batch_nd(ctx),
        Op::ReverseV2 => layout::reverse_v2(ctx),
        Op::BroadcastTo => layout::broadcast_to(ctx),
        Op::BroadcastArgs => layout::broadcast_args(ctx),
        Op::Shape { out_type } => layout::shape(ctx, *out_type),
        Op::Rank => layout::rank(ctx),
        Op::Fill => layout::fill(ctx),
        Op::ZerosLike => layout::zeros_like(ctx),
        Op::Range => layout::range(ctx),
        Op::Gather { axis, batch_dims } => gather::gather(ctx, *axis, *batch_dims),
        Op::GatherNd => gather::gather_nd(ctx),
        Op::ScatterNd => gather::scatter_nd(ctx),
        Op::EmbeddingLookup => gather::embedding_lookup(ctx),
        Op::OneHot { axis } => gather::one_hot(ctx, *axis),
        Op::TopKV2 => gather::top_k(ctx),
        Op::ResizeBilinear(p) => resize::resize_bilinear(ctx, p),
        Op::ResizeNearestNeighbor(p) => resize::resize_nearest(ctx, p),
        Op::Quantize => quantize::quantize(ctx),
        Op::Dequantize => quantize::dequantize(ctx),
        Op::Densify => quantize::densify(ctx),
        Op::Rfft2d => complex::rfft2d(ctx),
        Op::ComplexAbs => complex::complex_abs(ctx),
        Op::Real => complex::real_part(ctx, true),
        Op::Imag => complex::real_part(ctx, false),
        Op::UnidirectionalSequenceLstm(p) => lstm::unidirectional_sequence_lstm(ctx, p),
        Op::While { cond, body } => control::while_loop(ctx, *cond, *body),
        Op::If {
            then_branch,
            else_branch,
        } => control::if_then_else(ctx, *then_branch, *else_branch),
        Op::DetectionPostProcess(p) => detection::detection_postprocess(ctx, p),
        Op::DetectionDecode(p) => detection::detection_decode(ctx, p),
        Op::DetectionNms(p) => detection::detection_nms(ctx, p),
        Op::NonMaxSuppressionV4 => detection::nms(ctx, false),
        Op::NonMaxSuppressionV5 => detection::nms(ctx, true),
        Op::Unknown { name } => Err(Error::UnsupportedOp {
            node: ctx.node,
            op: name.clone(),
        }),
    }
}
