//! The delegate's errors at the C ABI: what the runtime handed it, its options,
//! and the crate's own errors, each reported through the runtime's error
//! reporter as one line.

/// Why the delegate refused a call from the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CapiError {
    /// The crate refused the model or failed to run it; the source names the
    /// node, op or tensor.
    #[error(transparent)]
    Crate(#[from] crate::Error),
    /// The runtime handed the delegate something it cannot use: a null or
    /// out-of-range tensor or node, a missing callback, an unknown op parameter.
    #[error("{0}")]
    Runtime(String),
}

impl From<String> for CapiError {
    fn from(what: String) -> Self {
        CapiError::Runtime(what)
    }
}

impl From<&str> for CapiError {
    fn from(what: &str) -> Self {
        CapiError::Runtime(what.to_string())
    }
}

/// The result of a delegate step.
pub type CapiResult<T> = std::result::Result<T, CapiError>;
