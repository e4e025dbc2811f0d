//! The one IR shared by the CPU interpreter, the partitioner and the GPU lowering.
//!
//! A [`Graph`] holds every subgraph of a model (the main one first, then WHILE/IF
//! bodies). Each [`Subgraph`] owns its tensors and its nodes in execution order.

pub mod broadcast;
pub mod cost;
mod dtype;
pub mod eval;
pub mod op;
pub mod op_detect;
mod op_mediapipe;
mod order;
pub mod quant;
pub mod rng;
pub mod shape;
mod value;

pub use dtype::DType;
pub use op::Op;
pub use order::topological_order;
pub use value::{pack_int4, unpack_int4, Data, Tensor};

use std::sync::Arc;

/// Affine quantization of a tensor: real = scale * (q - zero_point), per tensor or
/// per channel along `axis`, or per block when `block` is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    /// One scale, or one per channel; for blockwise quantization, one per block
    /// (channel-major: the blocks of channel 0 first), read from the scales tensor.
    pub scale: Vec<f32>,
    /// One zero point, or one per channel (blockwise: one zero, symmetric).
    pub zero_point: Vec<i64>,
    /// The channel axis of per-channel quantization.
    pub axis: usize,
    /// Blockwise quantization (the schema's `BlockwiseQuantization` details).
    pub block: Option<Blockwise>,
}

/// Blockwise quantization of a 2-D weight [channels, depth]: each run of
/// `size` consecutive elements along the depth has its own scale, held by a
/// float16 constant tensor of shape [channels, depth / size].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blockwise {
    /// Elements per block.
    pub size: usize,
    /// The subgraph tensor holding the block scales.
    pub scales: usize,
}

impl Quantization {
    /// Per-tensor quantization.
    pub fn per_tensor(scale: f32, zero_point: i64) -> Self {
        Quantization {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: 0,
            block: None,
        }
    }

    /// Per-channel quantization along `axis` (per tensor when there is one scale).
    pub fn per_channel(scale: Vec<f32>, zero_point: Vec<i64>, axis: usize) -> Self {
        Quantization {
            scale,
            zero_point,
            axis,
            block: None,
        }
    }

    /// The scale of channel `c` (the single scale for per-tensor quantization).
    pub fn scale_at(&self, c: usize) -> f32 {
        if self.scale.len() == 1 {
            self.scale[0]
        } else {
            self.scale.get(c).copied().unwrap_or(0.0)
        }
    }

    /// The zero point of channel `c`.
    pub fn zero_point_at(&self, c: usize) -> i64 {
        if self.zero_point.len() == 1 {
            self.zero_point[0]
        } else {
            self.zero_point.get(c).copied().unwrap_or(0)
        }
    }

    /// True when there is more than one scale.
    pub fn is_per_channel(&self) -> bool {
        self.scale.len() > 1
    }
}

/// How one dimension of a sparse tensor is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DimensionMetadata {
    /// A dense dimension of the given size.
    Dense(usize),
    /// A compressed (CSR) dimension.
    Sparse {
        /// Segment boundaries into `indices`.
        segments: Vec<u32>,
        /// Coordinates of the stored entries.
        indices: Vec<u32>,
    },
}

/// Sparsity description of a constant (TACO format, as in the TFLite schema).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparsity {
    /// Order in which the (original plus block) dimensions are traversed.
    pub traversal_order: Vec<usize>,
    /// For each block dimension, the original dimension it blocks.
    pub block_map: Vec<usize>,
    /// Storage of each traversed dimension.
    pub dim_metadata: Vec<DimensionMetadata>,
}

/// A tensor of the model: metadata plus constant data when it has any.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The name in the model.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Static shape (dynamic dimensions as 1, as TFLite stores them).
    pub shape: Vec<usize>,
    /// Shape signature: -1 marks a dynamic dimension.
    pub shape_signature: Option<Vec<i32>>,
    /// Quantization, when the tensor is quantized.
    pub quantization: Option<Quantization>,
    /// Constant contents in little-endian bytes, for weights and other constants.
    pub data: Option<Arc<[u8]>>,
    /// Sparsity of a sparse constant.
    pub sparsity: Option<Sparsity>,
    /// A variable tensor (state kept across invokes).
    pub is_variable: bool,
}

impl TensorInfo {
    /// A non-constant tensor with the given name, type and shape.
    pub fn new(name: impl Into<String>, dtype: DType, shape: Vec<usize>) -> Self {
        TensorInfo {
            name: name.into(),
            dtype,
            shape,
            shape_signature: None,
            quantization: None,
            data: None,
            sparsity: None,
            is_variable: false,
        }
    }

    /// Number of elements of the static shape.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for constants.
    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }
}

/// One operator application.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The op and its parameters.
    pub op: Op,
    /// Input tensor indices; None for an omitted optional input (-1 in the file).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
}

impl Node {
    /// The input at position `i`, if present.
    pub fn input(&self, i: usize) -> Option<usize> {
        self.inputs.get(i).copied().flatten()
    }
}

/// A subgraph: tensors, nodes in execution order, inputs and outputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subgraph {
    /// Name from the model (may be empty).
    pub name: String,
    /// All tensors of the subgraph.
    pub tensors: Vec<TensorInfo>,
    /// Nodes in an order where every tensor is written before it is read.
    pub nodes: Vec<Node>,
    /// Tensor indices of the inputs.
    pub inputs: Vec<usize>,
    /// Tensor indices of the outputs.
    pub outputs: Vec<usize>,
}

/// A named entry point (TFLite SignatureDef).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signature {
    /// The signature key, e.g. "serving_default".
    pub key: String,
    /// Subgraph it runs.
    pub subgraph: usize,
    /// (name, tensor index) of the inputs.
    pub inputs: Vec<(String, usize)>,
    /// (name, tensor index) of the outputs.
    pub outputs: Vec<(String, usize)>,
}

/// A whole model in the crate's IR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Subgraphs; index 0 is the main one.
    pub subgraphs: Vec<Subgraph>,
    /// Signatures.
    pub signatures: Vec<Signature>,
    /// Named metadata buffers.
    pub metadata: Vec<(String, Arc<[u8]>)>,
    /// The model's description string.
    pub description: String,
    /// The schema version of the file.
    pub version: u32,
}

impl Graph {
    /// The main subgraph.
    pub fn main(&self) -> &Subgraph {
        &self.subgraphs[0]
    }
}
