//! [`Model`]: a loaded, validated graph and the hash of the bytes it came from.

use crate::delegate;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::model::{self, LoadOptions};
use std::sync::Arc;

/// A loaded and validated model. Cheap to clone; shareable across threads.
#[derive(Debug, Clone)]
pub struct Model {
    pub(super) graph: Arc<Graph>,
    sha256: Option<Arc<str>>,
}

impl Model {
    /// Parse `.tflite` bytes with default limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Self::from_bytes_with(bytes, &LoadOptions::default())
    }

    /// Parse `.tflite` bytes with explicit limits.
    pub fn from_bytes_with(bytes: &[u8], options: &LoadOptions) -> Result<Model> {
        Ok(Model {
            graph: Arc::new(model::read(bytes, options)?),
            sha256: Some(delegate::sha256_hex(bytes).into()),
        })
    }

    /// Read and parse a `.tflite` file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Wrap an IR graph built in code.
    pub fn from_graph(graph: Graph) -> Model {
        Model {
            graph: Arc::new(graph),
            sha256: None,
        }
    }

    /// SHA-256 of the `.tflite` bytes it was read from (None for a graph built
    /// in code); precision plans name their model by it.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// The IR.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}
