//! Why a node stays off the GPU: the verdict each family's support check returns,
//! and the reason `inspect`, the delegate's report and the partitioner show.

use std::borrow::Cow;

/// A node the GPU cannot run, with the reason a user reads (it names the tensor,
/// dtype, shape or option that is out of reach).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unsupported {
    /// What is out of the GPU kernels' reach.
    pub reason: Cow<'static, str>,
}

impl Unsupported {
    /// The reason as text.
    pub fn as_str(&self) -> &str {
        &self.reason
    }
}

impl From<String> for Unsupported {
    fn from(reason: String) -> Self {
        Unsupported {
            reason: Cow::Owned(reason),
        }
    }
}

impl From<&'static str> for Unsupported {
    fn from(reason: &'static str) -> Self {
        Unsupported {
            reason: Cow::Borrowed(reason),
        }
    }
}

/// The verdict of a support check: `Ok` when the GPU runs the node (or a value a
/// lowering needs), else why not.
pub type Support<T = ()> = Result<T, Unsupported>;

impl From<Unsupported> for String {
    fn from(u: Unsupported) -> String {
        u.reason.into_owned()
    }
}
