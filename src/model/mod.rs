//! The `.tflite` FlatBuffer format: a validating reader and a writer.

mod codes;
mod detection;
mod encode;
mod fb;
mod flex;
mod option_layouts;
mod options;
mod options_mediapipe;
mod reader;
mod stored;
mod versions;
mod writer;

pub use codes::{
    builtin, builtin_code, builtin_name, code, options_tag, tag, BuiltinOp, BUILTIN_OPS,
};
pub use reader::FILE_IDENTIFIER;
pub use writer::{write, write_from};

use crate::error::{Error, Result};
use crate::graph::Graph;

/// Limits checked while reading a model, before anything is allocated.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest allowed single tensor, in bytes.
    pub max_tensor_bytes: u64,
    /// Largest allowed sum of all tensors of the model, in bytes.
    pub max_total_bytes: u64,
    /// Largest allowed tensor rank.
    pub max_rank: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_tensor_bytes: 2 << 30,
            max_total_bytes: 8 << 30,
            max_rank: 16,
        }
    }
}

/// Read a model from `.tflite` bytes with the given limits.
pub fn read(bytes: &[u8], options: &LoadOptions) -> Result<Graph> {
    reader::read(bytes, options)
}

/// Read a model file with the default limits.
pub fn read_file(path: impl AsRef<std::path::Path>) -> Result<Graph> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    read(&bytes, &LoadOptions::default())
}

/// Decode an operator from its builtin code, custom code and custom options alone,
/// without a builtin options table (options take their schema defaults). The LiteRT
/// delegate uses it for ops whose parameters are all in tensors or custom options.
/// The op's version is not known here: ops with versions that differ in their
/// options tell them apart by those options.
pub fn decode_op(
    node: usize,
    code: i32,
    custom_code: Option<String>,
    custom_options: Option<&[u8]>,
) -> Result<crate::graph::Op> {
    options::RawOp {
        node,
        code,
        custom_code,
        version: 0,
        options_type: 0,
        options: None,
        custom_options,
    }
    .decode()
}
