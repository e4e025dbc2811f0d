//! Typed errors for every stage: reading a model, building the IR, running it.

use thiserror::Error;

/// Everything that can go wrong in tflite-wgpu. Each variant names the part of the
/// model (table, tensor, buffer, node) it concerns, so a user can find the culprit.
/// New variants may be added: match it with a wildcard arm.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The flatbuffer itself is malformed: an offset, vtable or vector points outside
    /// the file, or a field has an impossible value.
    #[error("malformed model: {what}")]
    Malformed {
        /// What was wrong and where (table, field, byte offset).
        what: String,
    },
    /// A tensor, buffer, operator-code or subgraph index is out of range.
    #[error("{kind} index {index} out of range (there are {len}) in {context}")]
    IndexOutOfRange {
        /// Which kind of index ("tensor", "buffer", "opcode", "subgraph").
        kind: &'static str,
        /// The offending index as found in the file.
        index: i64,
        /// How many objects of that kind exist.
        len: usize,
        /// Where the index was read.
        context: String,
    },
    /// A tensor is unusable: bad shape, disagreeing buffer size, unsupported dtype.
    #[error("tensor {index} ({name}): {what}")]
    Tensor {
        /// Index of the tensor in its subgraph.
        index: usize,
        /// The tensor's name in the model.
        name: String,
        /// What is wrong with it.
        what: String,
    },
    /// A node cannot be built or run: wrong arity, bad option, shape mismatch, or
    /// its kernel failed in a way the model does not explain.
    #[error("node {node} ({op}): {what}")]
    Node {
        /// Index of the node in its subgraph's execution order.
        node: usize,
        /// The op's TFLite name.
        op: String,
        /// What is wrong.
        what: String,
    },
    /// The model uses an op this crate does not know.
    #[error("node {node}: unsupported op {op}")]
    UnsupportedOp {
        /// Index of the node.
        node: usize,
        /// The builtin name, the builtin code, or the custom op name.
        op: String,
    },
    /// An allocation would exceed the configured memory limit.
    #[error("{what} needs {bytes} bytes, over the limit of {limit} bytes")]
    MemoryLimit {
        /// What was about to be allocated.
        what: String,
        /// The bytes it needs.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The graph has a cycle, or a tensor is read before anything writes it.
    #[error("graph error in subgraph {subgraph}: {what}")]
    Graph {
        /// The subgraph index.
        subgraph: usize,
        /// What is wrong.
        what: String,
    },
    /// A caller supplied an input that does not fit the model.
    #[error("input {index}: {what}")]
    Input {
        /// Index of the model input.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// A caller asked for an output in a form that does not fit it (element type,
    /// length).
    #[error("output {index}: {what}")]
    Output {
        /// Index of the model output.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// A WHILE loop ran past the configured iteration limit, or the run was cancelled.
    #[error("run stopped: {0}")]
    Stopped(String),
    /// Reading or writing a .npy file failed.
    #[error("npy {path}: {what}")]
    Npy {
        /// The file.
        path: String,
        /// What went wrong.
        what: String,
    },
    /// No usable GPU: no adapter matches the requested backend, or the one found
    /// cannot be opened. [`crate::Device::Auto`] runs on the CPU on this error (and
    /// when the only adapter is a software one).
    #[error("no usable GPU adapter: {0}")]
    NoAdapter(String),
    /// The GPU device or its driver failed: the device was lost, a transfer or a
    /// submission failed, or a partition could not be built on it.
    #[error("GPU device error: {what}")]
    Device {
        /// What failed (with wgpu's message, when wgpu reported the failure).
        what: String,
        /// The error wgpu returned, when it returned one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An adapter profile that is neither bundled nor a valid profile file.
    #[error("{0}")]
    AdapterProfile(String),
    /// fp16 GPU stores saturated (|v| > 65504 or non-finite) with the overflow guard
    /// set to fail rather than promote the nodes to fp32.
    #[error("fp16 overflow on the GPU at {what}; run at fp32 or with the overflow guard on")]
    Fp16Overflow {
        /// The nodes whose stores saturated.
        nodes: Vec<usize>,
        /// The nodes with their ops and output tensors.
        what: String,
    },
    /// A value of a tensor type the CPU kernels cannot hold or compute.
    #[error("unsupported tensor type {dtype}: {what}")]
    UnsupportedType {
        /// The tensor type's name.
        dtype: String,
        /// What was asked of it.
        what: String,
    },
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub fn malformed(what: impl Into<String>) -> Self {
        Error::Malformed { what: what.into() }
    }

    /// An [`Error::Device`] without a source error.
    pub fn device(what: impl Into<String>) -> Self {
        Error::Device {
            what: what.into(),
            source: None,
        }
    }

    /// An [`Error::Device`] caused by `source`, an error wgpu returned.
    pub fn device_source(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Device {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Shorthand for [`Error::Node`].
    pub fn node(node: usize, op: impl Into<String>, what: impl Into<String>) -> Self {
        Error::Node {
            node,
            op: op.into(),
            what: what.into(),
        }
    }
}
